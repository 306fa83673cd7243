-- InventorySource.warehouses.
SELECT code AS warehouse_code, name AS warehouse_name, region, capacity_units
FROM warehouses
ORDER BY code
