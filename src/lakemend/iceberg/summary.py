"""The snapshot-summary keys every lakemend commit writes (``iceberg.publish``, ``iceberg.maintenance``)
and ``iceberg.history`` reads back: which run made the commit, what it did, which days it changed."""

RUN_ID = "lakemend.run-id"
ACTION = "lakemend.action"  # what a commit that is not a build did: rollback, quarantine, compact-manifests
DAY = "lakemend.day"  # the one day a commit changed
DAYS = "lakemend.days"  # "first..last": the days a batch commit of several days changed
DAY_ROWS = "lakemend.day-rows"  # JSON {day: [rows before, rows after]} of the days a batch commit changed
