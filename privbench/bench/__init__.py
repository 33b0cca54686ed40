"""The benchmark runner: a matrix of train runs and attacks (``matrix``), expanded into hashed jobs
(``jobs``), run on a backend (``backends``: this process, worker processes, Ray) into a results store
(``store``) that skips what is complete and resumes what was killed."""
