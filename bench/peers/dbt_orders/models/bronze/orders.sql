{#- bronze.orders: the order CSVs as lakemend.yaml declares them (typed, header, no sniffing),
    with lineage columns and the day taken from the landing folder (orders/YYYY-MM-DD/*.csv). -#}
{{ by_day_config() }}
SELECT
    order_id, customer_email, amount, currency, status, ordered_at, updated_at,
    replace(filename, '{{ env_var("PEER_LANDING") }}/', '') AS _source_file,
    current_timestamp::TIMESTAMP AS _ingested_at,
    '{{ invocation_id }}' AS _run_id,
    md5(CAST(row(order_id, customer_email, amount, currency, status, ordered_at, updated_at) AS VARCHAR)) AS _record_hash,
    day
FROM (
    SELECT *, CAST(regexp_extract(filename, '/([0-9]{4}-[0-9]{2}-[0-9]{2})/[^/]*$', 1) AS DATE) AS day
    FROM read_csv(
        '{{ env_var("PEER_LANDING") }}/orders/*/*.csv',
        header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', filename = true,
        columns = {
            'order_id': 'VARCHAR', 'customer_email': 'VARCHAR', 'amount': 'DECIMAL(12,2)', 'currency': 'VARCHAR',
            'status': 'VARCHAR', 'ordered_at': 'TIMESTAMP', 'updated_at': 'TIMESTAMP'
        }
    )
) AS landed
WHERE {{ day_filter(from_landing=true) }}
  -- lakemend's bronze ingest quarantines records that lack a required field
  AND order_id IS NOT NULL AND customer_email IS NOT NULL AND amount IS NOT NULL
  AND ordered_at IS NOT NULL AND updated_at IS NOT NULL
