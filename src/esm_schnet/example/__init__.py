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

Modules: geometry (ideal geometry, residue tables, NeRF), folding (plans, placement, sequence),
label, writers (PDB/mmCIF text), dataset (proteins, files, samples.tsv, README), scale (`--fast`:
thousands of proteins from a pool of folded backbones, for scale benchmarks), cli.
"""

from __future__ import annotations

from esm_schnet.example.geometry import (  # noqa: F401
    B_N_CA,
    B_CA_C,
    B_C_N,
    B_C_O,
    A_N_CA_C,
    A_CA_C_N,
    A_C_N_CA,
    A_CA_C_O,
    HELIX,
    STRAND,
    LOOP_REGIONS,
    CA_MIN,
    ATOM_MIN,
    SC_MIN,
    SC_DIST,
    W_CENTRE,
    PACK_DIST,
    THREE,
    HYDROPHOBIC,
    _PREF,
    _BURIED,
    _CHARGED,
    _POLAR,
    _place,
    dihedral,
    ideal_cb,
    build_segment,
    _cdist,
    _random_rotation,
)
from esm_schnet.example.folding import (  # noqa: F401
    ChainModel,
    _ss_plan,
    _dihedrals,
    _Folder,
    _side_pseudo,
    _assign_sequence,
)
from esm_schnet.example.label import (  # noqa: F401
    radius_of_gyration,
    contact_count,
    packing_stats,
    W_COMPOSITION,
    W_CONTACT,
    W_RG,
    NOISE_SD,
    CHARGED,
    LABEL_FORMULA,
    label_of,
)
from esm_schnet.example.writers import (  # noqa: F401
    ExampleProtein,
    _bfactors,
    _atoms_of,
    _resname,
    _pdb_atom_name,
    pdb_text,
    cif_text,
)
from esm_schnet.example.dataset import (  # noqa: F401
    _numbering,
    _fold,
    _specials,
    _new_protein,
    _place_and_label,
    make_protein,
    write_structure_file,
    make_dataset,
    _waters,
    write_dataset,
    _ca_and_index,
    readme_text,
)
from esm_schnet.example.cli import (  # noqa: F401
    cli,
)
