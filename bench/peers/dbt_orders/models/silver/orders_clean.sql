{#- silver.orders_clean, as lakemend builds it per day: the model SQL of the example project
    (models/silver/orders_clean.sql), then dedup by unique_key order_id keeping the latest
    updated_at within the day, then contracts/orders_clean.yaml's row rules (rows breaking one
    go to lakemend's quarantine, so they are left out here). -#}
{{ by_day_config() }}
WITH model AS (
    SELECT
        trim(order_id)               AS order_id,
        lower(trim(customer_email))  AS customer_email,
        amount                       AS amount,
        upper(trim(currency))        AS currency,
        lower(trim(status))          AS status,
        ordered_at                   AS ordered_at,
        updated_at                   AS updated_at,
        day
    FROM {{ ref('orders') }}
    WHERE {{ day_filter() }}
),
deduplicated AS (
    SELECT * FROM model
    -- rows with a NULL key are not duplicates: the contract rejects them below
    QUALIFY order_id IS NULL OR row_number() OVER (PARTITION BY day, order_id ORDER BY updated_at DESC) = 1
)
SELECT order_id, customer_email, amount, currency, status, ordered_at, updated_at, day
FROM deduplicated
WHERE order_id IS NOT NULL
  AND customer_email IS NOT NULL AND regexp_full_match(customer_email, '^[^@\s]+@[^@\s]+\.[a-z]{2,}$')
  AND amount IS NOT NULL AND amount >= 0 AND amount <= 100000
  AND currency IS NOT NULL AND currency IN ('USD', 'EUR', 'GBP')
  AND status IS NOT NULL AND status IN ('pending', 'paid', 'shipped', 'cancelled', 'refunded')
  AND ordered_at IS NOT NULL
  AND updated_at IS NOT NULL
