"""RQ jobs and the worker entry. With no ``REDIS_URL`` jobs run in-process (see ``queue``)."""
