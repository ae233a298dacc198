"""Benchmarks of the pipeline against the plain tools each stage is built on.

    python -m pipelines.benchmarks [--events N] [--json] [--skip STAGE]

Each stage runs a baseline on the same data in the same run and reports the ratio of
agentaudit's figure to the baseline beside its bar. docs/benchmarks.md records the results.
"""
