"""dlcourse: the deep-learning course as pure JAX functions and Flax modules.

Import by idea: ``dlcourse.optim``, ``dlcourse.nn``, ``dlcourse.models``, ``dlcourse.data``,
``dlcourse.train``, ``dlcourse.sweep``, ``dlcourse.strategy``, ``dlcourse.detection`` (boxes, YOLO,
non-max suppression, mAP, localization), ``dlcourse.faces`` (triplet loss, verification),
``dlcourse.style`` (content and style costs, neural style transfer, what units see),
``dlcourse.embeddings`` (vocabulary, word2vec, GloVe, analogies, debiasing), ``dlcourse.decoding``
(sampling, greedy decoding, sequence probability).
"""

__version__ = "0.1.0"
