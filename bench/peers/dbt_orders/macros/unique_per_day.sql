{# A generic test: `column` is unique within each day (lakemend's `unique: true` on a day partition). #}
{% test unique_per_day(model, column) %}
SELECT day, {{ column }}, count(*) AS copies
FROM {{ model }}
GROUP BY day, {{ column }}
HAVING count(*) > 1
{% endtest %}
