-- ExecutiveKpiSource.daily_series: movements per day since :first_ts, today and later as one day.
-- On SQLite the movements are summed per date text first (no Julian day per movement), in a
-- subquery that the outer query turns into day numbers.
-- if postgresql
SELECT LEAST(CAST(m.moved_at AS date) - DATE '1970-01-01', :today_day) AS day,
-- if sqlite
SELECT CASE WHEN day_text >= :today_text THEN :today_day
            ELSE CAST(julianday(day_text) - 2440587.5 AS INTEGER) END AS day,
       SUM(value_moved) AS value_moved, SUM(units_moved) AS units_moved,
       SUM(cogs) AS cogs, SUM(revenue) AS revenue
FROM (
    SELECT substr(m.moved_at, 1, 10) AS day_text,
-- end if
           SUM(m.quantity * k.unit_cost) AS value_moved, SUM(m.quantity) AS units_moved,
           SUM(CASE WHEN m.kind = 'shipment' THEN -m.quantity * k.unit_cost ELSE 0 END) AS cogs,
           SUM(CASE WHEN m.kind = 'shipment' THEN -m.quantity * k.unit_price ELSE 0 END) AS revenue
    FROM stock_movements AS m
    JOIN skus AS k ON k.id = m.sku_id
    WHERE m.moved_at >= :first_ts
-- if sqlite
    GROUP BY substr(m.moved_at, 1, 10)
)
-- end if
GROUP BY 1
