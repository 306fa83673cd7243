-- ExecutiveKpiSource.daily_series: order lines placed per day in [:first_ts, :today_ts).
SELECT CAST(o.ordered_at AS date) - DATE '1970-01-01' AS day, SUM(l.quantity) AS units_ordered,
       SUM(l.quantity_shipped) AS units_shipped, COUNT(*) AS order_lines,
       COUNT(DISTINCT o.id) AS orders
FROM sales_orders AS o
JOIN sales_order_lines AS l ON l.sales_order_id = o.id
WHERE o.ordered_at >= :first_ts AND o.ordered_at < :today_ts AND o.status <> 'cancelled'
GROUP BY 1
