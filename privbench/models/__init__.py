"""Models: recurrent heads, the ResNet18 backbone and the frame model.

``RNNS`` is declared here without importing torch (``privbench list`` reads its names and
descriptions); ``privbench.models.heads`` registers the layers on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from privbench.registry import Registry

if TYPE_CHECKING:
    from privbench.models.heads import RecurrentKind

RNNS: Registry[RecurrentKind] = Registry("rnn")
RNNS.declare("bigru", "privbench.models.heads", "bidirectional GRU")
RNNS.declare("bilstm", "privbench.models.heads", "bidirectional LSTM")
RNNS.declare("rnn", "privbench.models.heads", "RNN")

__all__ = ["RNNS"]
