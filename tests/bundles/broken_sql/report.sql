-- the weekly report
SELECT o.customer_id, count(*) AS orders
FROM lake.sales.orders AS o
WHERE CAST(o.amount AS) > 1
GROUP BY o.customer_id
