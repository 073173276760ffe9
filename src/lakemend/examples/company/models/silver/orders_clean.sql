-- One row per order: trimmed, e-mail lower-cased, currency and status normalised.
-- lakemend deduplicates by unique_key (order_id), keeping the latest updated_at.
SELECT
    trim(order_id)               AS order_id,
    lower(trim(customer_email))  AS customer_email,
    amount                       AS amount,
    upper(trim(currency))        AS currency,
    lower(trim(status))          AS status,
    ordered_at                   AS ordered_at,
    updated_at                   AS updated_at
FROM bronze.orders
