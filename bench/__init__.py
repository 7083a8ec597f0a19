"""The course's performance benchmark (`make bench`); see bench/README.md.

harness.py runs measurements in fresh processes, in interleaved rounds, and turns them into paired ratios
and measured defaults; report.py prints tables and goals and writes RESULTS.md; subjects.py holds the
models measured. Every other module here is one section (it defines NAME and run); run.py finds them.
"""
