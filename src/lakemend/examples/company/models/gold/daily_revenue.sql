-- Revenue per currency for the day: paid and shipped orders count as revenue.
SELECT
    currency,
    count(*)                                                              AS orders,
    count(DISTINCT customer_email)                                        AS customers,
    sum(CASE WHEN status IN ('paid', 'shipped') THEN amount ELSE 0 END)   AS revenue,
    sum(CASE WHEN status = 'refunded' THEN amount ELSE 0 END)             AS refunded
FROM silver.orders_clean
GROUP BY currency
