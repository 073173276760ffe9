{#- gold.daily_revenue: the example project's model SQL (models/gold/daily_revenue.sql) per day,
    then contracts/daily_revenue.yaml's row rules. -#}
{{ by_day_config() }}
WITH model AS (
    SELECT
        currency,
        count(*)                                                              AS orders,
        count(DISTINCT customer_email)                                        AS customers,
        sum(CASE WHEN status IN ('paid', 'shipped') THEN amount ELSE 0 END)   AS revenue,
        sum(CASE WHEN status = 'refunded' THEN amount ELSE 0 END)             AS refunded,
        day
    FROM {{ ref('orders_clean') }}
    WHERE {{ day_filter() }}
    GROUP BY day, currency
)
SELECT currency, orders, customers, revenue, refunded, day
FROM model
WHERE currency IS NOT NULL AND orders IS NOT NULL AND orders >= 1 AND revenue IS NOT NULL AND revenue >= 0
