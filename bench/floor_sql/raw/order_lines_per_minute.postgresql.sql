-- InventorySource.order_lines_per_minute: the minutes of [:start, :end) that have orders.
SELECT date_trunc('minute', o.ordered_at) AS minute, COUNT(*) AS order_lines,
       SUM(l.quantity) AS units, COUNT(DISTINCT o.id) AS orders
FROM sales_orders AS o
JOIN sales_order_lines AS l ON l.sales_order_id = o.id
WHERE o.ordered_at >= :start AND o.ordered_at < :end
GROUP BY date_trunc('minute', o.ordered_at)
ORDER BY minute
