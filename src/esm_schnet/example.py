"""The bundled example dataset: synthetic, realistic protein backbone models with a known label.

`esm-schnet make-example --out resources/example [--n 20] [--seed 0]` writes
`structures/*.pdb|.cif|.pdb.gz`, `samples.tsv` and a README into `--out`. Everything is drawn
from one numpy Generator seeded with `--seed`, so the same seed gives the same files.

How a protein is made
---------------------
* A secondary-structure plan (helices, strands, loops) is drawn per chain.
* The backbone is grown residue by residue from (phi, psi, omega) dihedrals with ideal bond
  lengths and angles (Engh & Huber) by the NeRF construction: N, CA, C, O (and an ideal CB for
  every residue but glycine). Helices use phi/psi near (-57, -47) (1.5 A rise, 100 degrees per
  residue), strands near (-120, 130), loops are drawn from the populated Ramachandran regions.
* Each loop plus the element after it is placed greedily: a few hundred candidate conformations
  are built at once, those that clash are rejected (see CA_MIN, ATOM_MIN, SC_MIN) and the one
  making the most C-alpha contacts with what is already placed is kept; a dead end backtracks.
  The result is a compact globule, somewhat looser than a crystal structure (the README written
  with the data gives the measured figures).
* Residue types are drawn after folding: buried positions favour hydrophobic residues, helices
  and strands their usual residues, the rest polar or charged at a per-protein rate.

The label (see `label_of`) is a documented function of sequence and C-alpha geometry only, plus
Gaussian noise, so a SchNet on C-alpha graphs can learn it.
"""

from __future__ import annotations

import argparse
import gzip
import io
import logging
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger("esm_schnet.example")

# ----------------------------------------------------------------------------------------------
# Ideal geometry (Engh & Huber 1991)
B_N_CA, B_CA_C, B_C_N, B_C_O = 1.458, 1.525, 1.329, 1.231
A_N_CA_C, A_CA_C_N, A_C_N_CA, A_CA_C_O = (math.radians(a) for a in (111.2, 116.2, 121.7, 120.5))

HELIX = (-57.0, -47.0)
STRAND = (-120.0, 130.0)
# Loop dihedrals: (phi, psi, weight) of populated Ramachandran regions.
LOOP_REGIONS = np.array(
    [
        (-65.0, 145.0, 0.35),  # polyproline II
        (-90.0, 0.0, 0.25),  # bridge / alpha-R edge
        (-120.0, 130.0, 0.20),  # beta
        (-65.0, -40.0, 0.10),  # alpha-R
        (75.0, 20.0, 0.10),  # alpha-L (glycine, asparagine)
    ]
)

CA_MIN = 4.0  # non-neighbouring C-alpha atoms (|i-j| >= 3 or other chain)
ATOM_MIN = 2.7  # any backbone/CB atoms of residues |i-j| >= 2
SC_MIN = 2.5  # side-chain pseudo-atoms (CA + 2.4 A along CA->CB) of residues |i-j| >= 2
SC_DIST = 2.4
W_CENTRE, PACK_DIST = 0.05, 10.0  # growth score (see _Folder._try_unit)

THREE = {
    "A": "ALA", "R": "ARG", "N": "ASN", "D": "ASP", "C": "CYS", "Q": "GLN", "E": "GLU",
    "G": "GLY", "H": "HIS", "I": "ILE", "L": "LEU", "K": "LYS", "M": "MET", "F": "PHE",
    "P": "PRO", "S": "SER", "T": "THR", "W": "TRP", "Y": "TYR", "V": "VAL",
}  # fmt: skip
HYDROPHOBIC = frozenset("AVILMFWY")

# Residue preferences by secondary structure (relative weights).
_PREF = {
    "H": "AAAALLLLEEEKKKQQRRMMIIVFYWSTDNH",
    "E": "VVVVIIIIYYYFFFTTTLLWCAKRESQ",
    "L": "GGGGPPPNNNDDDSSSTTKKEQRAH",
}
_BURIED = "LLLLIIIVVVFFFAAAMMWYC"
_CHARGED = "DEKR"
_POLAR = "NQSTGPHA"


# ----------------------------------------------------------------------------------------------
# Geometry


def _place(a: np.ndarray, b: np.ndarray, c: np.ndarray, bond: float, angle: float, torsion):
    """NeRF: the atom d with |cd| = bond, angle(b, c, d) = angle, dihedral(a, b, c, d) = torsion.

    a, b, c: [..., 3]; torsion: radians, broadcastable to a[..., 0].
    """
    bc = c - b
    bc /= np.linalg.norm(bc, axis=-1, keepdims=True)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    m = np.cross(n, bc)
    torsion = np.asarray(torsion)
    d0 = -bond * math.cos(angle)
    d1 = bond * math.sin(angle) * np.cos(torsion)
    d2 = bond * math.sin(angle) * np.sin(torsion)
    return c + d0 * bc + d1[..., None] * m + d2[..., None] * n


def dihedral(a, b, c, d) -> np.ndarray:
    """Dihedral angle(s) in degrees."""
    b0, b1, b2 = a - b, c - b, d - c
    b1n = b1 / np.linalg.norm(b1, axis=-1, keepdims=True)
    v = b0 - (b0 * b1n).sum(-1, keepdims=True) * b1n
    w = b2 - (b2 * b1n).sum(-1, keepdims=True) * b1n
    x = (v * w).sum(-1)
    y = (np.cross(b1n, v) * w).sum(-1)
    return np.degrees(np.arctan2(y, x))


def ideal_cb(n: np.ndarray, ca: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Ideal C-beta of an L-amino acid from N, CA, C (1.52 A from CA)."""
    b = ca - n
    cc = c - ca
    a = np.cross(b, cc)
    return -0.58273431 * a + 0.56802827 * b - 0.54067466 * cc + ca


def build_segment(prev: np.ndarray, phi: np.ndarray, psi: np.ndarray, prev_psi):
    """Grow residues after `prev` (N, CA, C of the residue before: [K, 3, 3]).

    phi, psi: [K, m] radians; prev_psi: [K] psi of the residue before (fixes the next N).
    Returns backbone [K, m, 4, 3] (N, CA, C, O) and the O of the residue before [K, 3].
    """
    k, m = phi.shape
    out = np.empty((k, m, 4, 3))
    n_prev, ca_prev, c_prev = prev[:, 0], prev[:, 1], prev[:, 2]
    omega = np.full(k, math.pi)
    psi_before = np.asarray(prev_psi, dtype=float)
    o_prev = _place(n_prev, ca_prev, c_prev, B_C_O, A_CA_C_O, psi_before + math.pi)
    for i in range(m):
        n_i = _place(n_prev, ca_prev, c_prev, B_C_N, A_CA_C_N, psi_before)
        ca_i = _place(ca_prev, c_prev, n_i, B_N_CA, A_C_N_CA, omega)
        c_i = _place(c_prev, n_i, ca_i, B_CA_C, A_N_CA_C, phi[:, i])
        o_i = _place(n_i, ca_i, c_i, B_C_O, A_CA_C_O, psi[:, i] + math.pi)
        out[:, i] = np.stack([n_i, ca_i, c_i, o_i], axis=1)
        n_prev, ca_prev, c_prev, psi_before = n_i, ca_i, c_i, psi[:, i]
    return out, o_prev


def _cdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of a [n, 3] and b [p, 3]."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(d2, 0.0))


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


# ----------------------------------------------------------------------------------------------
# Folding


@dataclass
class ChainModel:
    """One chain of a synthetic model (coordinates in Angstrom)."""

    name: str
    backbone: np.ndarray  # [n, 4, 3] N, CA, C, O
    ss: str  # per residue H/E/L
    sequence: str = ""
    numbers: list[int] = field(default_factory=list)
    icodes: list[str] = field(default_factory=list)
    hetero: set[int] = field(default_factory=set)  # residue positions written as MSE HETATM

    @property
    def ca(self) -> np.ndarray:
        return self.backbone[:, 1]

    def __len__(self) -> int:
        return len(self.backbone)


def _ss_plan(n: int, helix_frac: float, rng: np.random.Generator) -> list[tuple[str, int]]:
    """Alternating loops and elements that add up to n residues (first and last: loops)."""
    plan: list[tuple[str, int]] = [("L", int(rng.integers(2, 5)))]
    total = plan[0][1]
    while total < n:
        if rng.random() < helix_frac:
            el = ("H", int(rng.integers(8, 19)))
        else:
            el = ("E", int(rng.integers(5, 10)))
        loop = ("L", int(rng.integers(3, 7)))
        plan += [el, loop]
        total += el[1] + loop[1]
    # trim the excess from the end
    while total - plan[-1][1] >= n:
        total -= plan.pop()[1]
    kind, length = plan[-1]
    plan[-1] = (kind, length - (total - n))
    return plan


def _dihedrals(kind: str, k: int, m: int, rng: np.random.Generator):
    if kind == "H":
        phi = rng.normal(HELIX[0], 4.0, (k, m))
        psi = rng.normal(HELIX[1], 4.0, (k, m))
    elif kind == "E":
        phi = rng.normal(STRAND[0], 8.0, (k, m))
        psi = rng.normal(STRAND[1], 8.0, (k, m))
        # a gentle right-handed twist per strand, as in real sheets
    else:
        w = LOOP_REGIONS[:, 2] / LOOP_REGIONS[:, 2].sum()
        region = rng.choice(len(LOOP_REGIONS), size=(k, m), p=w)
        phi = LOOP_REGIONS[region, 0] + rng.normal(0, 15.0, (k, m))
        psi = LOOP_REGIONS[region, 1] + rng.normal(0, 15.0, (k, m))
    return np.radians(phi), np.radians(psi)


class _Folder:
    """Greedy, clash-free, compact growth of one or several chains in a common frame."""

    def __init__(self, rng: np.random.Generator, total: int, candidates: int = 256):
        self.rng = rng
        # radius of gyration of a compact globule of `total` residues is ~2.2 N^0.38 A; the
        # C-alpha atoms of such a globule lie within ~1.25 Rg of its centre
        self.target_radius = 1.25 * 2.2 * total**0.38
        self.k = candidates
        self.atoms = np.zeros((0, 5, 3))  # N CA C O CB per placed residue
        self.sc = np.zeros((0, 3))  # side-chain pseudo-atoms
        self.chain_of = np.zeros(0, dtype=int)
        self.pos = np.zeros(0, dtype=int)  # position within its chain
        self.n_chains = 0

    # -- clash tests of K candidate segments against everything placed so far --------------
    def _commit(self, bb: np.ndarray, chain: int, start: int) -> None:
        cb = ideal_cb(bb[:, 0], bb[:, 1], bb[:, 2])
        sc = bb[:, 1] + SC_DIST * (cb - bb[:, 1]) / np.linalg.norm(
            cb - bb[:, 1], axis=-1, keepdims=True
        )
        self.atoms = np.concatenate([self.atoms, np.concatenate([bb, cb[:, None]], 1)])
        self.sc = np.concatenate([self.sc, sc])
        self.chain_of = np.concatenate([self.chain_of, np.full(len(bb), chain)])
        self.pos = np.concatenate([self.pos, start + np.arange(len(bb))])

    def _start(self, chain: int) -> tuple[np.ndarray, float]:
        """N, CA, C of a virtual residue before the chain's first residue, and its psi."""
        rng = self.rng
        if len(self.atoms) == 0:
            origin = np.zeros(3)
        else:
            centre = self.atoms[:, 1].mean(0)
            radius = np.sqrt(((self.atoms[:, 1] - centre) ** 2).sum(1).mean())
            best, best_d = None, -1.0
            for _ in range(64):  # a start point on the surface, away from other atoms
                u = rng.normal(size=3)
                p = centre + (radius + 4.0) * u / np.linalg.norm(u)
                dmin = np.linalg.norm(self.atoms[:, 1] - p, axis=1).min()
                if dmin > 6.0:
                    best = p
                    break
                if dmin > best_d:
                    best, best_d = p, dmin
            origin = best
        rot = _random_rotation(rng)
        local = np.array([[-1.458, 0.0, 0.0], [0.0, 0.0, 0.0], [0.55, 1.42, 0.0]])
        return origin + local @ rot.T, math.radians(140.0)

    def _truncate(self, n: int) -> None:
        self.atoms, self.sc = self.atoms[:n], self.sc[:n]
        self.chain_of, self.pos = self.chain_of[:n], self.pos[:n]

    def _try_unit(self, unit, prev, prev_psi, chain: int, start: int):
        """Best clash-free conformation of one unit, or None after several rounds of candidates.

        Candidates are scored by how many C-alpha contacts (< PACK_DIST) the new residues make
        with those already placed (more is better: the element packs onto the globule), with a
        weak pull towards the centre.
        """
        rng, k = self.rng, self.k
        for _attempt in range(6):
            phis, psis = [], []
            for kind, length in unit:
                ph, ps = _dihedrals(kind, k, length, rng)
                phis.append(ph)
                psis.append(ps)
            phi = np.concatenate(phis, axis=1)
            psi = np.concatenate(psis, axis=1)
            prev_b = np.broadcast_to(prev, (k, 3, 3))
            bb, _ = build_segment(prev_b, phi, psi, np.full(k, prev_psi))
            m = bb.shape[1]
            cb = ideal_cb(bb[:, :, 0], bb[:, :, 1], bb[:, :, 2])
            x = np.concatenate([bb, cb[:, :, None]], axis=2)  # [K, m, 5, 3]
            ca = x[:, :, 1]
            sc = _side_pseudo(x.reshape(-1, 5, 3)).reshape(k, m, 3)
            newpos = start + np.arange(m)
            # inside the new piece
            sep = np.abs(newpos[:, None] - newpos[None, :])
            d = np.linalg.norm(ca[:, :, None] - ca[:, None, :], axis=-1)
            ok = ~((d < CA_MIN) & (sep >= 3)).any(axis=(1, 2))
            d = np.linalg.norm(sc[:, :, None] - sc[:, None, :], axis=-1)
            ok &= ~((d < SC_MIN) & (sep >= 2)).any(axis=(1, 2))
            if len(self.atoms) == 0:
                score = rng.random(k)
            else:
                same = self.chain_of == chain
                osep = np.where(same[None, :], np.abs(newpos[:, None] - self.pos[None, :]), 10**6)
                dca = _cdist(ca.reshape(-1, 3), self.atoms[:, 1]).reshape(k, m, -1)
                ok &= ~((dca < CA_MIN) & (osep >= 3)[None]).any(axis=(1, 2))
                dsc = _cdist(sc.reshape(-1, 3), self.sc).reshape(k, m, -1)
                ok &= ~((dsc < SC_MIN) & (osep >= 2)[None]).any(axis=(1, 2))
                contacts = ((dca < PACK_DIST) & (osep >= 3)[None]).sum(axis=(1, 2)) / m
                centre = self.atoms[:, 1].mean(0)
                dcen = np.linalg.norm(ca - centre, axis=-1).mean(1)
                score = -contacts + W_CENTRE * dcen
            if not ok.any():
                continue
            order = np.argsort(np.where(ok, score, np.inf), kind="stable")
            for best in order[: min(int(ok.sum()), 16)]:
                if len(self.atoms) == 0 or not self._atom_clash(x[best], chain, start):
                    return bb[best], float(psi[best, -1])
        return None

    def _atom_clash(self, x: np.ndarray, chain: int, start: int) -> bool:
        """All-atom test of one candidate piece x [m, 5, 3] against everything placed."""
        m = len(x)
        newpos = start + np.arange(m)
        same = self.chain_of == chain
        osep = np.where(same[None, :], np.abs(newpos[:, None] - self.pos[None, :]), 10**6)
        d = _cdist(x[:, 1], self.atoms[:, 1])
        ii, jj = np.nonzero((d < 9.0) & (osep >= 2))
        if len(ii) == 0:
            return False
        da = np.linalg.norm(x[ii][:, :, None] - self.atoms[jj][:, None, :], axis=-1)
        return bool((da < ATOM_MIN).any())

    def grow(self, n: int, helix_frac: float, name: str) -> ChainModel:
        chain = self.n_chains
        self.n_chains += 1
        plan = _ss_plan(n, helix_frac, self.rng)
        # Place a loop together with the element after it, so the loop orients the element.
        units: list[list[tuple[str, int]]] = []
        i = 0
        while i < len(plan):
            unit = [plan[i]]
            if plan[i][0] == "L" and i + 1 < len(plan):
                unit.append(plan[i + 1])
                i += 1
            units.append(unit)
            i += 1
        base = len(self.atoms)
        first_prev, first_psi = self._start(chain)
        placed: list[tuple[np.ndarray, float]] = []  # (segment backbone, psi of its last residue)
        backtracks = 0
        while len(placed) < len(units):
            u = len(placed)
            prev, prev_psi = (first_prev, first_psi) if u == 0 else (placed[-1][0][-1, :3], placed[-1][1])
            start = sum(len(seg) for seg, _ in placed)
            got = self._try_unit(units[u], prev, prev_psi, chain, start)
            if got is None:
                # dead end: take back the last two pieces and grow them again; with nothing
                # placed yet, start the chain somewhere else
                backtracks += 1
                if backtracks > 200:
                    raise RuntimeError(f"could not fold chain {name} ({n} residues)")
                if not placed:
                    first_prev, first_psi = self._start(chain)
                for _ in range(min(2, len(placed))):
                    placed.pop()
                self._truncate(base + sum(len(seg) for seg, _ in placed))
                continue
            self._commit(got[0], chain, start)
            placed.append(got)
        ss = "".join(kind * length for unit in units for kind, length in unit)
        return ChainModel(name=name, backbone=np.concatenate([seg for seg, _ in placed]), ss=ss)


def _side_pseudo(x: np.ndarray) -> np.ndarray:
    """Side-chain pseudo-atoms (SC_DIST along CA->CB) of residues x [R, 5, 3] (N CA C O CB)."""
    v = x[:, 4] - x[:, 1]
    return x[:, 1] + SC_DIST * v / np.linalg.norm(v, axis=-1, keepdims=True)


def _assign_sequence(
    chains: list[ChainModel], hydrophobic_bias: float, charged: float, rng: np.random.Generator
):
    """Residue types from secondary structure and burial (C-alpha neighbours within 10 A).

    `hydrophobic_bias` shifts the chance that a buried helix/strand position is hydrophobic;
    `charged` is the chance that an exposed position is charged (D, E, K, R): both vary from
    protein to protein, so composition is not just a function of size.
    """
    ca = np.concatenate([c.ca for c in chains])
    burial = (_cdist(ca, ca) < 10.0).sum(1) - 1
    lo, hi = np.percentile(burial, 25), np.percentile(burial, 75)
    offset = 0
    for c in chains:
        seq = []
        for i, kind in enumerate(c.ss):
            b = (burial[offset + i] - lo) / max(hi - lo, 1.0)
            p_buried = float(np.clip(0.15 + 0.55 * b + hydrophobic_bias, 0.02, 0.95))
            if kind != "L" and rng.random() < p_buried:
                pool = _BURIED
            elif rng.random() < 0.4:
                pool = _PREF[kind]
            elif rng.random() < charged:
                pool = _CHARGED
            else:
                pool = _POLAR
            seq.append(pool[int(rng.integers(len(pool)))])
        c.sequence = "".join(seq)
        offset += len(c)


# ----------------------------------------------------------------------------------------------
# The label


def radius_of_gyration(ca: np.ndarray) -> float:
    ca = np.asarray(ca, dtype=float)
    return float(np.sqrt(((ca - ca.mean(0)) ** 2).sum(1).mean()))


def contact_count(ca: np.ndarray, chain_index: np.ndarray, cutoff: float = 8.0) -> int:
    """C-alpha pairs closer than `cutoff`, not near in sequence (|i-j| >= 3, or another chain)."""
    ca = np.asarray(ca, dtype=float)
    chain_index = np.asarray(chain_index)
    idx = np.arange(len(ca))
    d = np.linalg.norm(ca[:, None] - ca[None], axis=-1)
    same = chain_index[:, None] == chain_index[None]
    far = ~same | (np.abs(idx[:, None] - idx[None]) >= 3)
    upper = idx[:, None] < idx[None]
    return int(((d < cutoff) & far & upper).sum())


def packing_stats(ca: np.ndarray, chain_index: np.ndarray) -> dict[str, float]:
    """Compactness figures of one protein: Rg / (2.2 N^0.38), non-local C-alpha neighbours
    within 8 A per residue, and the closest non-local C-alpha pair (A)."""
    ca = np.asarray(ca, dtype=float)
    chain_index = np.asarray(chain_index)
    n = len(ca)
    idx = np.arange(n)
    d = np.linalg.norm(ca[:, None] - ca[None], axis=-1)
    far = (chain_index[:, None] != chain_index[None]) | (np.abs(idx[:, None] - idx[None]) >= 3)
    return {
        "rg_ratio": radius_of_gyration(ca) / (2.2 * n**0.38),
        "neighbours_8A": float(((d < 8.0) & far).sum() / n),
        "min_ca_ca": float(d[far].min()) if far.any() else math.inf,
    }


W_COMPOSITION, W_CONTACT, W_RG, NOISE_SD = 1.0, 0.1, 1.5, 1.0
CHARGED = frozenset("DEKR")
LABEL_FORMULA = (
    f"label = {W_COMPOSITION} * (H - Q) + {W_CONTACT} * C + {W_RG} * Rg + e,"
    f"  e ~ Normal(0, {NOISE_SD})"
)


def label_of(sequence: str, ca: np.ndarray, chain_index: np.ndarray, noise: float = 0.0) -> float:
    """The example's label: its noise-free part (noise=0) plus `noise`.

    H  = residues in AVILMFWY (selenomethionine counts as M), all chains ('/' and X ignored);
    Q  = charged residues D, E, K, R;
    C  = `contact_count` (C-alpha pairs within 8 A, not near in sequence);
    Rg = radius of gyration of all C-alpha atoms, in Angstrom.
    """
    h = sum(1 for aa in sequence if aa in HYDROPHOBIC)
    q = sum(1 for aa in sequence if aa in CHARGED)
    c = contact_count(ca, chain_index)
    return W_COMPOSITION * (h - q) + W_CONTACT * c + W_RG * radius_of_gyration(ca) + noise


# ----------------------------------------------------------------------------------------------
# Writers


@dataclass
class ExampleProtein:
    id: str
    chains: list[ChainModel]
    format: str  # pdb, cif, pdb.gz
    note: str
    segments_reuse_letter: bool = False  # chains after the first share the first chain's letter
    waters: np.ndarray | None = None
    family: str = ""
    label: float = math.nan
    label_clean: float = math.nan

    @property
    def n_residues(self) -> int:
        return sum(len(c) for c in self.chains)

    @property
    def filename(self) -> str:
        return f"{self.id}.{self.format}"


def _bfactors(chains: list[ChainModel]) -> list[np.ndarray]:
    ca = np.concatenate([c.ca for c in chains])
    r = np.linalg.norm(ca - ca.mean(0), axis=1)
    b = 12.0 + 40.0 * (r / max(r.max(), 1.0)) ** 2
    out, off = [], 0
    for c in chains:
        out.append(b[off : off + len(c)])
        off += len(c)
    return out


def _atoms_of(chain: ChainModel, i: int):
    """(atom name, element, xyz) of residue i: N CA C O, CB unless glycine."""
    n, ca, c, o = chain.backbone[i]
    names = [("N", "N", n), ("CA", "C", ca), ("C", "C", c), ("O", "O", o)]
    if chain.sequence[i] != "G":
        names.append(("CB", "C", ideal_cb(n, ca, c)))
    return names


def _resname(chain: ChainModel, i: int) -> str:
    return "MSE" if i in chain.hetero else THREE[chain.sequence[i]]


def _pdb_atom_name(name: str, element: str) -> str:
    return f" {name:<3}" if len(element) == 1 and len(name) < 4 else f"{name:<4}"


def pdb_text(p: ExampleProtein, seed: int) -> str:
    lines = [
        f"HEADER    SYNTHETIC PROTEIN MODEL                 01-JAN-00   {p.id[:4].upper():<4}",
        f"TITLE     ESM-SCHNET EXAMPLE {p.id.upper()}: SYNTHETIC BACKBONE MODEL, NOT AN EXPERIMENT",
        "REMARK   1 GENERATED BY `esm-schnet make-example` (esm_schnet.example), SEED "
        + str(seed),
    ]
    lines += [f"REMARK   1 {part}" for part in textwrap.wrap(p.note.upper(), 68)]
    lines += ["REMARK   1 IDEAL BACKBONE GEOMETRY; C-BETA ONLY; NO SIDE CHAINS BEYOND C-BETA"]
    serial = 1
    bfac = _bfactors(p.chains)
    for ci, chain in enumerate(p.chains):
        for i in range(len(chain)):
            rec = "HETATM" if i in chain.hetero else "ATOM  "
            resn = _resname(chain, i)
            for name, element, xyz in _atoms_of(chain, i):
                lines.append(
                    f"{rec}{serial:5d} {_pdb_atom_name(name, element)} {resn:>3} {chain.name:1}"
                    f"{chain.numbers[i]:4d}{chain.icodes[i]:1}   "
                    f"{xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}{1.0:6.2f}{bfac[ci][i]:6.2f}"
                    f"          {element:>2}  "
                )
                serial += 1
        last = len(chain) - 1
        lines.append(
            f"TER   {serial:5d}      {_resname(chain, last):>3} {chain.name:1}"
            f"{chain.numbers[last]:4d}{chain.icodes[last]:1}"
        )
        serial += 1
    if p.waters is not None:
        wchain = p.chains[0].name
        for j, xyz in enumerate(p.waters):
            lines.append(
                f"HETATM{serial:5d}  O   HOH {wchain:1}{901 + j:4d}    "
                f"{xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}{1.0:6.2f}{30.0:6.2f}           O  "
            )
            serial += 1
    lines.append("END   ")
    return "\n".join(line.ljust(80) if line.startswith(("ATOM", "HETATM")) else line for line in lines) + "\n"


def cif_text(p: ExampleProtein, seed: int) -> str:
    head = [
        f"data_{p.id.upper()}",
        "#",
        f"_entry.id {p.id.upper()}",
        f"_struct.title 'esm-schnet example {p.id}: synthetic backbone model (seed {seed})'",
        "#",
        "loop_",
    ]
    cols = [
        "group_PDB", "id", "type_symbol", "label_atom_id", "label_alt_id", "label_comp_id",
        "label_asym_id", "label_entity_id", "label_seq_id", "pdbx_PDB_ins_code", "Cartn_x",
        "Cartn_y", "Cartn_z", "occupancy", "B_iso_or_equiv", "auth_seq_id", "auth_comp_id",
        "auth_asym_id", "auth_atom_id", "pdbx_PDB_model_num",
    ]  # fmt: skip
    head += [f"_atom_site.{c}" for c in cols]
    rows = []
    serial = 1
    bfac = _bfactors(p.chains)
    for ci, chain in enumerate(p.chains):
        asym = chr(ord("A") + ci)
        for i in range(len(chain)):
            rec = "HETATM" if i in chain.hetero else "ATOM"
            resn = _resname(chain, i)
            for name, element, xyz in _atoms_of(chain, i):
                rows.append(
                    f"{rec:<6} {serial:<5d} {element} {name:<3} . {resn} {asym} {ci + 1} {i + 1:<4d} "
                    f"{chain.icodes[i] or '?'} {xyz[0]:8.3f} {xyz[1]:8.3f} {xyz[2]:8.3f} 1.00 "
                    f"{bfac[ci][i]:6.2f} {chain.numbers[i]:<4d} {resn} {chain.name} {name:<3} 1"
                )
                serial += 1
    return "\n".join(head + rows + ["#", ""])


# ----------------------------------------------------------------------------------------------
# The dataset


def _numbering(chain: ChainModel, start: int, insertion_at: int | None = None) -> None:
    numbers, icodes = [], []
    num = start
    for i in range(len(chain)):
        if insertion_at is not None and insertion_at < i <= insertion_at + 2:
            numbers.append(numbers[-1])
            icodes.append("AB"[i - insertion_at - 1])
            continue
        numbers.append(num)
        icodes.append("")
        num += 1
    chain.numbers, chain.icodes = numbers, icodes


def _fold(rng, sizes, names, helix_frac: float, hyd_bias: float, charged: float):
    folder = _Folder(rng, sum(sizes))
    chains = [folder.grow(n, helix_frac, name) for n, name in zip(sizes, names)]
    _assign_sequence(chains, hyd_bias, charged, rng)
    return chains


def _specials() -> list[dict]:
    """The proteins that exercise parser and workflow edge cases (always the first ones)."""
    return [
        dict(sizes=[380, 375, 385], names="ABC", format="pdb.gz",
             note="homotrimer-like complex, 1140 residues in 3 chains (> 1024 in total); gzipped"),
        dict(sizes=[124, 118], names="AB", format="pdb", note="two chains A and B"),
        dict(sizes=[96, 88], names="AA", format="pdb", reuse=True,
             note="two segments that share chain letter A, separated by TER; numbering restarts at 1"),
        dict(sizes=[152], names="A", format="cif", note="single chain, mmCIF format"),
        dict(sizes=[118], names="H", format="pdb", insertion=True,
             note="insertion codes: residues 52, 52A, 52B, 53 (antibody-style numbering)"),
        dict(sizes=[134], names="A", format="pdb", mse=True, waters=True,
             note="selenomethionine (MSE HETATM) residues and crystal waters (HOH)"),
        dict(sizes=[64, 58, 61], names="ABC", format="pdb", note="three small chains A, B, C"),
    ]  # fmt: skip


def _new_protein(pid: str, spec: dict, rng: np.random.Generator) -> ExampleProtein:
    helix_frac = float(rng.uniform(0.2, 0.9))
    hyd_bias = float(rng.uniform(-0.2, 0.2))
    charged = float(rng.uniform(0.1, 0.8))
    chains = _fold(rng, spec["sizes"], list(spec["names"]), helix_frac, hyd_bias, charged)
    p = ExampleProtein(pid, chains, spec["format"], spec["note"],
                       segments_reuse_letter=spec.get("reuse", False), family=pid)
    for c in chains:
        # numbering restarts at 1 for segments that reuse a letter, else a random start
        start = 1 if p.segments_reuse_letter else int(rng.integers(1, 12))
        _numbering(c, start, insertion_at=(52 - start) if spec.get("insertion") else None)
    if spec.get("mse"):
        c = chains[0]
        mets = [i for i, aa in enumerate(c.sequence) if aa == "M"]
        extra = [i for i in rng.choice(len(c), 3, replace=False)]
        for i in sorted(set(mets[:2]) | set(int(e) for e in extra)):
            c.sequence = c.sequence[:i] + "M" + c.sequence[i + 1 :]
            c.hetero.add(i)
    if spec.get("waters"):
        p.waters = _waters(chains, rng, 12)
    return p


def _place_and_label(p: ExampleProtein, rng: np.random.Generator) -> None:
    chains = p.chains
    # random orientation and position, then round to what the file stores
    rot = _random_rotation(rng)
    shift = rng.uniform(-30, 30, 3)
    for c in chains:
        c.backbone = np.round(c.backbone @ rot.T + shift, 3)
    if p.waters is not None:
        p.waters = np.round(p.waters @ rot.T + shift, 3)
    ca, chain_index = _ca_and_index(p)
    p.label_clean = label_of("".join(c.sequence for c in chains), ca, chain_index)
    p.label = p.label_clean + float(rng.normal(0, NOISE_SD))


def make_protein(
    pid: str = "prot",
    sizes: tuple[int, ...] | list[int] = (60,),
    seed: int = 0,
    names: str | None = None,
    fmt: str = "pdb",
    **options,
) -> ExampleProtein:
    """One synthetic protein outside the bundled set (for tests and demos).

    sizes: residues per chain; names: chain letters (default A, B, ...); fmt: pdb, cif or
    pdb.gz; options: reuse=True (segments share the first letter, numbering restarts),
    insertion=True (52, 52A, 52B), mse=True, waters=True, note="...".
    """
    rng = np.random.default_rng(seed)
    names = names or "ABCDEFGHIJ"[: len(sizes)]
    if len(names) != len(sizes):
        raise ValueError("one chain name per size")
    spec = dict(sizes=list(sizes), names=names, format=fmt, note=options.pop("note", "synthetic"))
    spec.update(options)
    p = _new_protein(pid, spec, rng)
    _place_and_label(p, rng)
    return p


def write_structure_file(p: ExampleProtein, path: str | Path, seed: int = 0) -> Path:
    """Write one protein as PDB, mmCIF or gzipped PDB, chosen by the file name's ending."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".cif", ".mmcif")):
        path.write_text(cif_text(p, seed))
    elif name.endswith(".gz"):
        buf = io.BytesIO()
        # mtime=0 and no file name: the same seed gives the same bytes
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(pdb_text(p, seed).encode("ascii"))
        path.write_bytes(buf.getvalue())
    else:
        path.write_text(pdb_text(p, seed))
    return path


def make_dataset(n: int = 20, seed: int = 0) -> list[ExampleProtein]:
    """Fold and label `n` synthetic proteins (deterministic from `seed`)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    specs = _specials()[:n]
    # One near-copy (same sequence, coordinates perturbed by 0.25 A), like a protein solved twice,
    # then single chains of 40-400 residues (log-uniform).
    n_rest = n - len(specs)
    copy_of = len(specs) if n_rest >= 2 else None
    for j in range(n_rest):
        if copy_of is not None and j == 1:
            specs.append(dict(copy=copy_of, format="pdb", note="near-copy of the previous protein"))
            continue
        size = int(round(math.exp(rng.uniform(math.log(40), math.log(400)))))
        specs.append(dict(sizes=[size], names="A", format="pdb", note="single chain"))

    proteins: list[ExampleProtein] = []
    for idx, spec in enumerate(specs):
        pid = f"ex{idx + 1:02d}"
        if "copy" in spec:
            src = proteins[spec["copy"]]
            chains = []
            for c in src.chains:
                noisy = c.backbone + rng.normal(0, 0.25, c.backbone.shape)
                chains.append(
                    ChainModel(c.name, noisy, c.ss, c.sequence, list(c.numbers), list(c.icodes))
                )
            p = ExampleProtein(pid, chains, spec["format"], f"near-copy of {src.id} "
                               "(same sequence, coordinates perturbed by 0.25 A)",
                               family=src.family)
        else:
            p = _new_protein(pid, spec, rng)
        _place_and_label(p, rng)
        proteins.append(p)
    return proteins


def _waters(chains: list[ChainModel], rng, count: int) -> np.ndarray:
    atoms = np.concatenate([c.backbone.reshape(-1, 3) for c in chains])
    centre = atoms.mean(0)
    out = []
    while len(out) < count:
        i = int(rng.integers(len(atoms)))
        d = atoms[i] - centre
        p = atoms[i] + 3.0 * d / np.linalg.norm(d) + rng.normal(0, 0.5, 3)
        if np.linalg.norm(atoms - p, axis=1).min() > 2.6:
            out.append(p)
    return np.array(out)


def write_dataset(proteins: list[ExampleProtein], out: str | Path, seed: int) -> Path:
    """Write structures/, samples.tsv and README.md under `out`; returns the samples.tsv path."""
    out = Path(out)
    sdir = out / "structures"
    sdir.mkdir(parents=True, exist_ok=True)
    for p in proteins:
        write_structure_file(p, sdir / p.filename, seed)
    table = out / "samples.tsv"
    rows = ["id\tstructure\tlabel\tgroup"]
    rows += [f"{p.id}\tstructures/{p.filename}\t{p.label:.3f}\t{p.family}" for p in proteins]
    table.write_text("\n".join(rows) + "\n")
    (out / "README.md").write_text(readme_text(proteins, seed))
    return table


def _ca_and_index(p: ExampleProtein) -> tuple[np.ndarray, np.ndarray]:
    ca = np.concatenate([c.ca for c in p.chains])
    index = np.concatenate([np.full(len(c), i) for i, c in enumerate(p.chains)])
    return ca, index


def readme_text(proteins: list[ExampleProtein], seed: int) -> str:
    n_res = sum(p.n_residues for p in proteins)
    sizes = [p.n_residues for p in proteins]
    stats = [packing_stats(*_ca_and_index(p)) for p in proteins]

    def span(key: str, fmt: str) -> str:
        vals = [st[key] for st in stats]
        return f"{min(vals):{fmt}} to {max(vals):{fmt}} (mean {sum(vals) / len(vals):{fmt}})"

    table = "\n".join(
        f"| {p.id} | `structures/{p.filename}` | {len(p.chains)} | {p.n_residues} | "
        f"{p.label:.3f} | {p.note} |"
        for p in proteins
    )
    return f"""# Example dataset (synthetic)

**These are not real proteins.** Every structure here is a synthetic backbone model written by
this project's own code, so that the default configuration runs end to end in minutes on a
laptop, with no download and no third-party data. Numbers measured on it say nothing about real
proteins; use your own sample table (or the jclinic set) for that.

- Made by: `esm-schnet make-example --out resources/example --n {len(proteins)} --seed {seed}`
  (source: `src/esm_schnet/example.py`). The same command and seed rewrite the same files.
- {len(proteins)} proteins, {n_res} residues in total ({min(sizes)} to {max(sizes)} per protein).
- Files: `samples.tsv` (columns `id`, `structure`, `label`, `group`) and `structures/`.
- Provenance: generated with numpy from the seed above; no experimental or database structure
  was used or copied. License: same as the repository.

## How the structures are made

Secondary-structure plans (alpha helices, beta strands, loops) are turned into backbones by
growing N, CA, C, O residue by residue from dihedral angles with ideal bond lengths and angles
(Engh & Huber): helices at phi/psi near (-57, -47) degrees (1.5 A rise and 100 degrees per
residue), strands near (-120, 130), loops from the populated Ramachandran regions, omega 180.
Each loop and the element after it is placed greedily: candidate conformations that clash
(non-neighbouring C-alpha atoms closer than {CA_MIN} A, backbone atoms closer than {ATOM_MIN} A,
side-chain pseudo-atoms {SC_DIST} A out along CA->CB closer than {SC_MIN} A) are rejected and the
one with the most C-alpha contacts to what is already placed is kept (a dead end backtracks),
which packs the chains into a compact globule. An ideal C-beta is added to every residue except
glycine; there are no other side-chain atoms and no hydrogens. Residue types are drawn
afterwards: buried helix and strand positions favour hydrophobic residues, the others the
usual helix/strand/loop residues or polar and charged ones, at rates that differ from protein
to protein (so composition is not a function of size). B-factors grow with the distance from
the centre.
Each protein is then rotated and translated at random.

How realistic (measured on these files; in brackets the same figures for the 42 crystal
structures of the jclinic set): radius of gyration / (2.2 N^0.38 A) {span("rg_ratio", ".2f")}
[0.91 to 1.22, mean 1.03]; non-local C-alpha neighbours within 8 A per residue
{span("neighbours_8A", ".1f")} [5.1 to 7.3, mean 6.1]; closest non-local C-alpha pair
{span("min_ca_ca", ".2f")} A [3.3 to 4.4]. So the globules are compact and free of clashes but
somewhat less densely packed than real proteins, and there are no real sequence-structure
relationships beyond the burial rule above.

The proteins (the first seven exercise the parser on purpose):

| id | file | chains | residues | label | what it is |
|----|------|-------:|---------:|------:|------------|
{table}

`group` is the protein's family: a near-copy (same sequence, coordinates perturbed by 0.25 A,
like one protein solved twice) shares the family of its original, every other protein is its own.

## The label

A structure-derived number that a SchNet on C-alpha graphs can learn:

    {LABEL_FORMULA}

- `H`: number of residues in A, V, I, L, M, F, W, Y (selenomethionine counts as M), all chains;
- `Q`: number of charged residues D, E, K, R;
- `C`: number of C-alpha pairs closer than 8 A that are not near in sequence (|i - j| >= 3
  within a chain, or in different chains);
- `Rg`: radius of gyration of all C-alpha atoms, in Angstrom;
- `e`: Gaussian noise drawn from the same seed, standard deviation {NOISE_SD}.

`esm_schnet.example.label_of(sequence, ca, chain_index)` computes the noise-free part from a parsed
structure, so the label can be checked against the files.
"""


# ----------------------------------------------------------------------------------------------
# Command line


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="esm-schnet make-example",
        description="Write the synthetic example dataset (structures, samples.tsv, README.md).",
    )
    parser.add_argument("--out", default="resources/example", help="output folder")
    parser.add_argument("--n", type=int, default=20, help="number of proteins (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    proteins = make_dataset(args.n, args.seed)
    table = write_dataset(proteins, args.out, args.seed)
    log.info(
        "wrote %d proteins (%d residues) and %s",
        len(proteins),
        sum(p.n_residues for p in proteins),
        table,
    )
    return 0
