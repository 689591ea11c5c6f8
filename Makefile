# Quick start: `make demo` and `make test` do all set-up (a .venv with the package) themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench bench-quick reproduce install clean docs

$(STAMP): pyproject.toml setup.py src/symbreak/detect/_ccore.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,ml,chem,crystal,md,scale,docs]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/symbreak analyze examples/*.xyz

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -x

# the documentation site in docs/_build/html: warnings are errors, the gallery's examples run;
# SYMBREAK_DOCS_OFFLINE=1 skips the intersphinx downloads (docs/conf.py says why and what then)
docs: $(STAMP)
	$(PY) -m pip install --quiet -e ".[docs]"
	$(PY) -m sphinx -b html -W --keep-going -j auto docs docs/_build/html

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) bench/pointgroups.py
	$(PY) bench/autotol.py
	$(PY) bench/averaging.py
	$(PY) bench/training.py
	$(PY) bench/scaling.py

bench-quick: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) bench/pointgroups.py --quick
	$(PY) bench/autotol.py --quick --out results/quick/bench
	$(PY) bench/averaging.py --quick
	$(PY) bench/training.py --quick --out results/quick/bench
	$(PY) bench/scaling.py --quick --out results/quick/bench
	$(VENV)/bin/symbreak bench square-ssb --quick --out results/quick/square-ssb
	$(VENV)/bin/symbreak bench h2o-modes --quick --out results/quick/h2o-modes
	$(VENV)/bin/symbreak bench charged-particle --quick --out results/quick/charged-particle
	$(VENV)/bin/symbreak bench shape-deformation --quick --out results/quick/shape-deformation
	$(VENV)/bin/symbreak bench sbs-examples --quick --out results/quick/sbs-examples
	$(VENV)/bin/symbreak bench graph-autoencoding --quick --out results/quick/graph-autoencoding
	$(VENV)/bin/symbreak bench ising --quick --out results/quick/ising
	$(VENV)/bin/symbreak bench water-pet --quick --out results/quick/water-pet
	$(VENV)/bin/symbreak bench dipoles --quick --out results/quick/dipoles
	$(VENV)/bin/symbreak bench canonicalization --quick --out results/quick/canonicalization

# the published tables (resumable: rerun after an interruption), reports in docs/results/; the
# square and water pages run 5 of the paper's 10 folds (folds differ by seed only) and the dipole
# page 3 splits of each kind (the GFN2 page 2), for time on 2 cores: drop --folds for the paper's 10
reproduce: $(STAMP)
	$(VENV)/bin/symbreak bench square-ssb --folds 5 --report docs/results/square-ssb.md
	$(VENV)/bin/symbreak bench h2o-modes --folds 5 --report docs/results/h2o-modes.md
	$(VENV)/bin/symbreak bench charged-particle --report docs/results/charged-particle.md
	$(VENV)/bin/symbreak bench shape-deformation --report docs/results/shape-deformation.md
	$(VENV)/bin/symbreak bench dipoles --subtasks dft,dft-by-molecule --folds 3 --report docs/results/dipoles.md
	$(VENV)/bin/symbreak bench dipoles --subtasks gfn2,gfn2-by-molecule --folds 2 --report docs/results/dipoles-gfn2.md
	$(VENV)/bin/symbreak bench canonicalization --report docs/results/canonicalization.md
	$(VENV)/bin/symbreak bench sbs-examples --report docs/results/sbs-examples.md
	$(VENV)/bin/symbreak bench graph-autoencoding --report docs/results/graph-autoencoding.md
	$(VENV)/bin/symbreak bench ising --report docs/results/ising.md
	$(VENV)/bin/symbreak bench spin-ground-states --report docs/results/spin-ground-states.md
	$(VENV)/bin/symbreak bench cylinder-wake --report docs/results/cylinder-wake.md
	$(VENV)/bin/symbreak bench qm9-generation --report docs/results/qm9-generation.md
	$(VENV)/bin/symbreak bench sbs-examples --models egnn+sbs,painn+sbs,e3nn+sbs,e3nn+sbs-axial --folds 3 --epochs 5000 --until-plateau 200 --out results/sbs-examples-plateau --report docs/results/sbs-examples-plateau.md
	$(VENV)/bin/symbreak bench sbs-examples --subtasks octagon --models "egnn+sbs[layers=6],painn+sbs[layers=6],e3nn+sbs[layers=4,lmax=4]" --folds 3 --epochs 5000 --until-plateau 200 --out results/octagon-capacity
	$(VENV)/bin/symbreak bench spin-ground-states --subtasks bipyramid --models egnn+sbs,painn+sbs,e3nn+sbs,e3nn+sbs-axial --folds 3 --epochs 3000 --until-plateau 200 --out results/spin-ground-states-plateau
	$(VENV)/bin/symbreak bench dipoles --subtasks dft-by-molecule --loss sbmse --folds 3 --models "sann,sann[tol=0.01],sann[coords=False],egnn" --out results/sann-ablation
	$(VENV)/bin/symbreak bench dipoles --subtasks dft-by-molecule --loss sbmse --folds 3 --models sann --lr 3e-4 --out results/sann-ablation/lr-3e-4
	$(VENV)/bin/symbreak bench dipoles --subtasks dft-by-molecule --loss sbmse --folds 3 --models sann --lr 3e-3 --out results/sann-ablation/lr-3e-3
	$(VENV)/bin/symbreak bench dipoles --subtasks dft-by-molecule --loss sbmse --folds 3 --models "sann[readout='relative']" --out results/sann-ablation
	$(VENV)/bin/symbreak bench dipoles --subtasks dft-by-molecule --loss sbmse --folds 3 --models "sann[num_spherical=1],sann[num_spherical=1,coords=False]" --out results/sann-ablation
	$(VENV)/bin/symbreak bench square-ssb --models egnn,painn,egnn+noise,painn+noise,egnn+canon,painn+canon,egnn+sympe,painn+sympe,egnn+sbs,painn+sbs,relaxed-e3nn,sann --loss sbmse --folds 3 --out results/square-ssb-mechanisms --report docs/results/square-ssb-mechanisms.md
	$(VENV)/bin/symbreak bench h2o-modes --models egnn,painn,egnn+noise,painn+noise,egnn+canon,painn+canon,egnn+sympe,painn+sympe,egnn+sbs,painn+sbs,relaxed-e3nn,sann --loss sbmse --folds 3 --out results/h2o-modes-mechanisms --report docs/results/h2o-modes-mechanisms.md
	$(VENV)/bin/symbreak search dipoles --model sann --space docs/search/sann_table6.json --subtask dft-by-molecule --loss sbmse --folds 1 --epochs 40 --out results/search/dipoles-sann
	$(VENV)/bin/symbreak search dipoles --model egnn --space docs/search/egnn_table5.json --subtask dft-by-molecule --loss sbmse --folds 1 --epochs 40 --out results/search/dipoles-egnn

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build src/*.egg-info
