-- InventorySource.order_lines_per_minute: the minutes of [:start, :end) that have orders.
-- if postgresql
SELECT date_trunc('minute', o.ordered_at) AS minute, COUNT(*) AS order_lines,
-- if sqlite
SELECT substr(o.ordered_at, 1, 16) AS minute, COUNT(*) AS order_lines,
-- end if
       SUM(l.quantity) AS units, COUNT(DISTINCT o.id) AS orders
FROM sales_orders AS o
JOIN sales_order_lines AS l ON l.sales_order_id = o.id
WHERE o.ordered_at >= :start AND o.ordered_at < :end
-- if postgresql
GROUP BY date_trunc('minute', o.ordered_at)
-- if sqlite
GROUP BY substr(o.ordered_at, 1, 16)
-- end if
ORDER BY minute
