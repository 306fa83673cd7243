-- ExecutiveKpiSource.daily_series: +1 on the day a demanded SKU x warehouse's end-of-day stock
-- falls to 0 or below, -1 on the day it rises again (their running sum: stock-outs per day).
WITH demanded AS (
    SELECT DISTINCT l.sku_id, o.warehouse_id
    FROM sales_orders AS o
    JOIN sales_order_lines AS l ON l.sales_order_id = o.id
    WHERE o.ordered_at >= :first_ts AND o.ordered_at < :today_ts AND o.status <> 'cancelled'
-- if postgresql
), moved AS (
    -- The window's movements per pair and day, from one range read of the window; kept for the
    -- demanded pairs by a hash join (not a lookup per pair in the (sku, warehouse, time) index).
    SELECT m.sku_id, m.warehouse_id,
           LEAST(CAST(m.moved_at AS date) - DATE '1970-01-01', :today_day) AS day,
           SUM(m.quantity) AS quantity
    FROM stock_movements AS m
    WHERE m.moved_at >= :first1_ts
    GROUP BY m.sku_id, m.warehouse_id, 3
), points AS (
    SELECT mv.sku_id, mv.warehouse_id, mv.day, mv.quantity
    FROM moved AS mv
    JOIN demanded AS d ON d.sku_id = mv.sku_id AND d.warehouse_id = mv.warehouse_id
-- if sqlite
), points AS (
    SELECT m.sku_id, m.warehouse_id,
           CASE WHEN m.moved_at >= :today_ts THEN :today_day ELSE CAST(julianday(m.moved_at) - 2440587.5 AS INTEGER) END AS day,
           SUM(m.quantity) AS quantity
    FROM demanded AS d
    JOIN stock_movements AS m ON m.sku_id = d.sku_id AND m.warehouse_id = d.warehouse_id
    WHERE m.moved_at >= :first1_ts
    GROUP BY m.sku_id, m.warehouse_id, 3
-- end if
    UNION ALL
    SELECT sku_id, warehouse_id, :first_day, 0 FROM demanded
), runs AS (
    SELECT p.day AS starts,
           COALESCE(LEAD(p.day) OVER w, :today_day) AS ends,
           COALESCE(s.on_hand, 0)
             - COALESCE(SUM(p.quantity) OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0)
             AS on_hand
    FROM points AS p
    LEFT JOIN stock_levels AS s ON s.sku_id = p.sku_id AND s.warehouse_id = p.warehouse_id
    WINDOW w AS (PARTITION BY p.sku_id, p.warehouse_id ORDER BY p.day)
)
SELECT CASE WHEN e.edge = 1 THEN r.starts ELSE r.ends END AS day, SUM(e.edge) AS change
FROM runs AS r
CROSS JOIN (SELECT 1 AS edge UNION ALL SELECT -1) AS e
WHERE r.on_hand <= 0 AND r.ends > r.starts
GROUP BY 1
