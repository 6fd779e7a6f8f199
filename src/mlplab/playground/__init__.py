"""The playground: the lecture's interactive companion in the browser, on mlplab itself.

``mlplab playground`` serves a page like playground.tensorflow.org whose network is trained by
mlplab's own engine (``Trainer.train_step``) in a worker thread and streamed to the page over
one WebSocket. The subpackage sits on top of the library, which never imports it:

    data      TF Playground's data sets and input features, the split, CSV parsing
    spec      the configuration (the page's URL keys), its limits, the objects it builds
    run       one run: data, network, and Trainer.fit's loop in pieces between frames
    frames    the binary frames (boundary, neuron maps, weights) the page draws
    script    export: the Python script that reproduces a run, and its model file
    session   one page's connection: the message registry, the worker, the newest-frame mailbox
    server    FastAPI + uvicorn (the extra ``mlplab[playground]``, imported only to serve)

``static/`` holds the page (HTML, CSS, JavaScript modules; no build step, no CDN).
"""
