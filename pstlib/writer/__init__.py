"""Writing new Unicode PSTs: ``create()`` for a fresh store, ``copy()`` to rewrite any readable one."""
