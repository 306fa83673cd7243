-- ExecutiveKpiSource.daily_series: order lines placed per day in [:first_ts, :today_ts).
SELECT CAST(julianday(day_text) - 2440587.5 AS INTEGER) AS day, units_ordered, units_shipped,
       order_lines, orders
FROM (
    SELECT substr(o.ordered_at, 1, 10) AS day_text, SUM(l.quantity) AS units_ordered,
           SUM(l.quantity_shipped) AS units_shipped, COUNT(*) AS order_lines,
           COUNT(DISTINCT o.id) AS orders
    FROM sales_orders AS o
    JOIN sales_order_lines AS l ON l.sales_order_id = o.id
    WHERE o.ordered_at >= :first_ts AND o.ordered_at < :today_ts AND o.status <> 'cancelled'
    GROUP BY substr(o.ordered_at, 1, 10)
)
