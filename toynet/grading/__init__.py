"""Assignments and a safe autograder: build student notebooks from solution-marked sources, grade a class.

    toynet assign notebooks/03_layers_from_scratch.ipynb build/layers --gradescope
    toynet grade submissions/*.ipynb --assignment build/layers/autograder --jobs 2 --out build/grades

Read in this order: markers (the nbgrader-style markers), protocol (plain data across the process boundary),
sandbox + child (the student process and its limits), remote + serve (handles: what a test reaches of the
student's notebook, from each side), magics (cells as Jupyter runs them), asserts (explained failures), checks
(the comparisons the tests use), notebooks (a submission read with every size bounded), grade, assign; then
results (a class's results on disk) and batch (what a `toynet grade` run grades, shards, merge).
sandbox_site/ holds what every student's root gets beside numpy and matplotlib: a small IPython shim and a
figure-discarding backend. docs/GRADING.md says how to run it.
Nothing in toynet's core imports this package; Jupyter machinery (nbformat) is imported only here.
"""
