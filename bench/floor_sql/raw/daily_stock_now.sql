-- ExecutiveKpiSource.daily_series: today's stock, value at unit cost and units.
SELECT COALESCE(SUM(s.on_hand * k.unit_cost), 0) AS value, COALESCE(SUM(s.on_hand), 0) AS units
FROM stock_levels AS s
JOIN skus AS k ON k.id = s.sku_id
