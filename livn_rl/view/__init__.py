"""Watch a run live in a browser: the LIF demo and any registered env, streamed over WebSocket.

``livn-rl view lif`` streams :class:`~livn_rl.systems.lif.DiscreteLIF` step by step; ``livn-rl view ENV_ID`` streams
an env driven by a policy. One :class:`ViewServer` per run serves the page (``livn_rl/view/static/``) and the
stream (``/stream``) on one port; frame formats: ``docs/view.md``.
"""

from livn_rl.view.env_stream import EnvStream
from livn_rl.view.lif_stream import LIFStream
from livn_rl.view.policies import PolicyError, make_policy, rest_action
from livn_rl.view.server import STREAM_PATH, ViewServer

__all__ = ["EnvStream", "LIFStream", "PolicyError", "STREAM_PATH", "ViewServer", "make_policy", "rest_action"]
