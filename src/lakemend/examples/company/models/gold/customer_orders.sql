-- Orders of the day enriched with the customer's latest attributes known that day.
-- silver.customers_clean is bound `upto` the day: every contact version seen so far.
WITH latest_customers AS (
    SELECT *
    FROM (
        SELECT
            c.*,
            row_number() OVER (PARTITION BY c.email ORDER BY c.updated_at DESC, c.customer_id) AS version_rank
        FROM silver.customers_clean AS c
    ) AS ranked
    WHERE version_rank = 1
)
SELECT
    o.order_id,
    o.customer_email                               AS email,
    o.customer_email                               AS email_domain,
    c.customer_id,
    concat_ws(' ', c.first_name, c.last_name)      AS full_name,
    c.phone,
    c.company,
    c.lifecycle_stage,
    o.amount,
    o.currency,
    o.status,
    o.ordered_at,
    o.updated_at
FROM silver.orders_clean AS o
LEFT JOIN latest_customers AS c
    ON c.email = o.customer_email
