SELECT region, sum(amount) AS total
FROM lake.sales.orders
GROUP BY region
