"""Running submitted code: the sandbox, the install step and the reusable work it leaves.

``sandbox`` (bubblewrap and its limits), ``sandbox_relay`` and ``index_proxy`` (the install
step's only way to the package index), ``install`` (one `prepare` from manifest to a runnable
model environment) and ``cache`` (what is reused from one run to the next, and eviction).
"""
