-- ExecutiveKpiSource.daily_series: movements per day since :first_ts, today and later as one day.
SELECT LEAST(CAST(m.moved_at AS date) - DATE '1970-01-01', :today_day) AS day,
       SUM(m.quantity * k.unit_cost) AS value_moved, SUM(m.quantity) AS units_moved,
       SUM(CASE WHEN m.kind = 'shipment' THEN -m.quantity * k.unit_cost ELSE 0 END) AS cogs,
       SUM(CASE WHEN m.kind = 'shipment' THEN -m.quantity * k.unit_price ELSE 0 END) AS revenue
FROM stock_movements AS m
JOIN skus AS k ON k.id = m.sku_id
WHERE m.moved_at >= :first_ts
GROUP BY 1
