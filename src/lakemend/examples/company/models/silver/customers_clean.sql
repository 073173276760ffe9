-- One row per contact: typed, trimmed, e-mail lower-cased.
-- lakemend deduplicates by unique_key (customer_id), keeping the latest updated_at.
SELECT
    trim(id)                                         AS customer_id,
    lower(trim(properties.email))                    AS email,
    nullif(trim(properties.firstname), '')           AS first_name,
    nullif(trim(properties.lastname), '')            AS last_name,
    nullif(trim(properties.phone), '')               AS phone,
    nullif(trim(properties.company), '')             AS company,
    lower(trim(properties.lifecyclestage))           AS lifecycle_stage,
    createdAt                                        AS created_at,
    coalesce(updatedAt, properties.lastmodifieddate) AS updated_at,
    coalesce(archived, FALSE)                        AS archived
FROM bronze.hubspot_contacts
