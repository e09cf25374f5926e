"""The worker process: ``pingyi worker`` (``cli``, ``main``), its maintenance (``reaper``) and the
RQ entry points (``jobs``). Queue access and the job runner live in the app (``pingyi.queue``,
``pingyi.jobs``); with no ``REDIS_URL`` jobs run in-process and no worker is needed."""
