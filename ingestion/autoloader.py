"""The same sources through Databricks Auto Loader (cloudFiles), for teams that run ingestion on Databricks.

Only the option mapping is tested here (cloudFiles exists only on Databricks); the local ingestion in
ingest.py is the reference for the semantics. Bronze gets the same lineage columns, and each micro-batch is
written idempotently with (txnAppId, txnVersion) as Databricks recommends for foreachBatch. Auto Loader keeps
its own file state (query it with `cloud_files_state(<checkpoint>)`); the transfer log is not written.
"""

from __future__ import annotations

from ingestion.config import SourceConfig

RESCUED = "_rescued_data"
CORRUPT = "_corrupt_record"


def cloudfiles_options(source: SourceConfig, schema_location: str) -> dict[str, str]:
    """Auto Loader reader options equivalent to `source`."""
    options = {
        "cloudFiles.format": source.format,
        "cloudFiles.schemaLocation": schema_location,
        "cloudFiles.schemaEvolutionMode": source.schema_evolution,
        "cloudFiles.maxFilesPerTrigger": str(source.max_files_per_batch),
        "cloudFiles.allowOverwrites": str(source.allow_overwrites).lower(),
        "cloudFiles.inferColumnTypes": str(source.infer_column_types or source.format == "parquet").lower(),
        "rescuedDataColumn": RESCUED,
    }
    if source.schema:
        options["cloudFiles.schemaHints"] = ", ".join(f"`{name}` {kind}" for name, kind in source.schema.items())
    if source.format == "json":
        options["columnNameOfCorruptRecord"] = CORRUPT
    if source.format == "csv":
        options.update(
            {
                "header": str(source.csv.header).lower(),
                "sep": source.csv.delimiter,
                "quote": source.csv.quote,
                "escape": source.csv.escape,
                "multiLine": "true",
                "columnNameOfCorruptRecord": CORRUPT,
            }
        )
    return options


def run_autoloader(spark, source: SourceConfig, table: str, checkpoint: str):
    """Ingest everything available from `source` into `table` with Auto Loader, then stop (availableNow)."""
    from pyspark.sql import functions as F

    def write_batch(frame, batch_id: int) -> None:
        (
            frame.withColumn("_batch_id", F.lit(batch_id).cast("bigint"))
            .write.format("delta")
            .mode("append")
            .option("mergeSchema", str(source.schema_evolution == "addNewColumns").lower())
            .option("txnAppId", f"autoloader:{source.name}")
            .option("txnVersion", batch_id)
            .saveAsTable(table)
        )

    stream = (
        spark.readStream.format("cloudFiles")
        .options(**cloudfiles_options(source, f"{checkpoint}/schema"))
        .load(source.uri)
        .select(
            "*",
            F.col("_metadata.file_path").alias("_source_file"),
            F.col("_metadata.file_modification_time").alias("_file_modified_at"),
            F.col("_metadata.file_size").alias("_file_size"),
            F.current_timestamp().alias("_ingested_at"),
        )
    )
    query = (
        stream.writeStream.foreachBatch(write_batch)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    return query
