"""The collector: receives crash reports over HTTP (``crashproc collector``)."""
