"""The runners: what the CLI and the hourly DAG call, all ending in the same channel pass.

- `channel`: one pass over one channel (`run_channel`): source -> normalise -> load, cursor committed with rows;
- `imports`: importing files (`import_files`);
- `records`: raw records to normalised items, shared by both;
- `reconnecting`: the entry points on their own connection, retried when the database goes away
  (`ingest_channel`, `import_paths`, `watched_channels`);
- `parallel`: `wirewatch import --jobs`, several files at once, each in a worker process (`import_paths_parallel`);
- `bulk`: how a bulk process runs Python (the collector, the thread switch interval);
- `dag_tasks`: what the Airflow tasks of `dags/wirewatch_hourly.py` call (windows, pools, the DSN);
- `backfill`: `wirewatch backfill`, the DAG's task code over a long window, chunk by chunk, resumable.
"""
