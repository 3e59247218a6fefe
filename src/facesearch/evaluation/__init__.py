"""Evaluation: accuracy measured the way the field measures it, on LFW.

* :mod:`~facesearch.evaluation.metrics`: pure metric functions (ROC, EER, TAR@FAR, k-fold
  accuracy, CMC, FNIR@FPIR, DET, cluster bootstrap); no I/O.
* :mod:`~facesearch.evaluation.lfw`: the dataset's files (protocols, identities, labels).
* :mod:`~facesearch.evaluation.embedcache` / :mod:`~facesearch.evaluation.embedworker`:
  embedding dataset images with the service's pipeline in a process pool, cached on disk.
* :mod:`~facesearch.evaluation.verification` + :mod:`~facesearch.evaluation.lfw_run`:
  ``facesearch eval lfw`` (View 2).
* :mod:`~facesearch.evaluation.identification`: ``facesearch eval identification``,
  through :class:`facesearch.service.FaceSearch`.
* :mod:`~facesearch.evaluation.demographics` + :mod:`~facesearch.evaluation.demographics_run`:
  ``facesearch eval demographics`` (NIST IR 8280 style).
* :mod:`~facesearch.evaluation.calibrate`: building the calibration table
  (``facesearch calibrate``); the table itself lives in :mod:`facesearch.calibration`.
* :mod:`~facesearch.evaluation.plots`, :mod:`~facesearch.evaluation.reports`: PNG, JSON and
  Markdown output.
"""
