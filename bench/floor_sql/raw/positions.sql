-- One row per SKU x warehouse stock level: the database's part of InventorySource.stock_positions.
-- On SQLite, days are the date text of the stored timestamps (SQLite keeps them as ISO text),
-- which groups like day_number without computing a Julian day per order line.
WITH daily AS (
    SELECT l.sku_id, o.warehouse_id,
           SUM(l.quantity) AS ordered, SUM(l.quantity_shipped) AS shipped
    FROM sales_orders AS o
    JOIN sales_order_lines AS l ON l.sales_order_id = o.id
    WHERE o.ordered_at >= :window_start AND o.ordered_at < :window_end
      AND o.status <> 'cancelled'
-- if postgresql
    GROUP BY l.sku_id, o.warehouse_id, CAST(o.ordered_at AS date)
-- if sqlite
    GROUP BY l.sku_id, o.warehouse_id, substr(o.ordered_at, 1, 10)
-- end if
), demand AS (
    SELECT sku_id, warehouse_id, SUM(ordered) AS demand_sum,
           SUM(ordered * ordered) AS demand_sum_squares, SUM(shipped) AS shipped_sum
    FROM daily
    GROUP BY sku_id, warehouse_id
), on_order AS (
    SELECT pl.sku_id, p.warehouse_id,
           SUM(pl.quantity_ordered - pl.quantity_received) AS on_order
    FROM purchase_orders AS p
    JOIN purchase_order_lines AS pl ON pl.purchase_order_id = p.id
    WHERE p.status = 'open'
    GROUP BY pl.sku_id, p.warehouse_id
), shelf AS (
-- if postgresql
    SELECT sku_id, MIN(expires_on - CAST(received_at AS date)) AS shelf_life_days
-- if sqlite
    SELECT sku_id,
           MIN(julianday(expires_on) - julianday(substr(received_at, 1, 10))) AS shelf_life_days
-- end if
    FROM lots
    GROUP BY sku_id
), moves AS (
    SELECT sku_id, warehouse_id,
           SUM(CASE WHEN kind = 'shipment' AND moved_at >= :window_start
                     AND moved_at < :window_end THEN -quantity ELSE 0 END) AS shipped_units,
           SUM(CASE WHEN moved_at < :window_start THEN 0
                    WHEN moved_at >= :window_end THEN quantity * :window_days
-- if postgresql
                    ELSE quantity * (CAST(moved_at AS date) - CAST(:window_start AS date))
-- if sqlite
                    ELSE quantity * CAST(julianday(moved_at) - :window_start_jd AS INTEGER)
-- end if
               END) AS weighted_movement,
           MAX(CASE WHEN quantity < 0 AND kind IN ('shipment', 'transfer')
                     AND moved_at >= :dead_start AND moved_at <= :as_of
                    THEN moved_at END) AS last_outbound_at
    FROM stock_movements
    WHERE moved_at >= :history_start
    GROUP BY sku_id, warehouse_id
)
SELECT k.code AS sku_code, w.code AS warehouse_code, k.unit_cost, k.unit_price,
       s.on_hand, s.reserved, COALESCE(oo.on_order, 0) AS on_order,
       COALESCE(d.demand_sum, 0) AS demand_sum,
       COALESCE(d.demand_sum_squares, 0) AS demand_sum_squares,
       COALESCE(d.shipped_sum, 0) AS units_shipped_window,
       u.lead_time_mean_days AS lead_time_days, u.lead_time_sd_days AS sd_lead_time_days,
       sh.shelf_life_days, u.order_cost,
       COALESCE(m.shipped_units, 0) AS shipped_units,
       COALESCE(m.weighted_movement, 0) AS weighted_movement,
       m.last_outbound_at
FROM stock_levels AS s
JOIN skus AS k ON k.id = s.sku_id
JOIN warehouses AS w ON w.id = s.warehouse_id
JOIN suppliers AS u ON u.id = k.supplier_id
LEFT JOIN shelf AS sh ON sh.sku_id = s.sku_id
LEFT JOIN demand AS d ON d.sku_id = s.sku_id AND d.warehouse_id = s.warehouse_id
LEFT JOIN on_order AS oo ON oo.sku_id = s.sku_id AND oo.warehouse_id = s.warehouse_id
LEFT JOIN moves AS m ON m.sku_id = s.sku_id AND m.warehouse_id = s.warehouse_id
ORDER BY k.code, w.code
