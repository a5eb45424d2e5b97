"""Concurrent learning (DP-GEN style) inside the workflow: explore with the ensemble, select the
frames where its members disagree, label them with the reference, retrain from the previous
models, and stop when the ensemble is accurate at every exploration temperature.

Iteration k (1..learning.max_iterations) explores with the models of iteration k-1 (iteration 0
is the first training, results/<scope>/train/), labels and retrains; exploration
max_iterations+1 checks the final models. Every iteration is planned (a dry run shows the whole
chain); one after convergence copies the previous models and costs seconds.
"""
