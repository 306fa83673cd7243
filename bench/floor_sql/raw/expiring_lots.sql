-- InventorySource.expiring_lots: lots with stock expiring before :until (a date).
SELECT k.code AS sku_code, w.code AS warehouse_code, l.lot_code, l.quantity, k.unit_cost,
       l.quantity * k.unit_cost AS value,
-- if postgresql
       l.expires_on - CAST(:today AS date) AS days_to_expiry
-- if sqlite
       CAST(julianday(l.expires_on) - julianday(:today) AS INTEGER) AS days_to_expiry
-- end if
FROM lots AS l
JOIN skus AS k ON k.id = l.sku_id
JOIN warehouses AS w ON w.id = l.warehouse_id
WHERE l.quantity > 0 AND l.expires_on < :until
ORDER BY l.expires_on, k.code, w.code, l.lot_code
