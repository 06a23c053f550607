#!/usr/bin/env bash
# Installs Keras 3 with the JAX CPU backend from PyPI for the default python3: a
# development-time reference for the fixtures and the parity check, never a build or test
# dependency (the tests skip the live Keras check, with a message, when it is absent).
set -euo pipefail
python3 -m pip install -q "keras>=3.6" jax h5py
