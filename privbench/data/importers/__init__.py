"""Importers of real data into the privbench dataset layout (docs/importing.md).

One module per source (``openface``, ``recola``, ``video``, ``images``) and one per shared job:
``tables`` (delimited text), ``arff``, ``gold`` (rater fusion, delay), ``align`` (time grids),
``ratings``, ``metadata`` and ``summary`` (what an import counted).
"""
