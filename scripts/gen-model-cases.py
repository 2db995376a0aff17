#!/usr/bin/python3.11
"""This repository's own text-model cases for test/model-parity.test.ts, beside the shared ones in
../shared/fixtures/models (copied into test/fixtures/models-shared by scripts/copy-fixtures.sh). It imports that folder's gen_models.py (read-only; GEN_MODELS names another copy) and
writes the same files in the same format (see its README.md):

    /usr/bin/python3.11 scripts/gen-model-cases.py [OUT_DIR [CASES.json]]    # default: test/fixtures/models, CASES below

CASES.json is a list of gen_models.py cases. A case with a "word_lm" key is not drawn at random: it is trained the
way pytorch/examples' word_language_model trains (RNNModel with dropout, batchify, truncated BPTT with the hidden
state carried over, clip_grad_norm_, SGD applied by hand or Adam) on a small made-up word corpus, and its JSON adds
"vocab" and a "generate" key: PyTorch's greedy continuation of a prompt (argmax of the last step's logits, fed back
from the prompt's final state), {prompt, steps, expected}. "word_lm" holds:
    sentences, seed          the corpus: `sentences` lines of the grammar below, drawn with `seed`
    steps, bptt, batch       training: optimizer steps, BPTT length, batchify's batch size
    optimizer, clip, dropout {"kind": "sgd"|"adam", "lr"}, clip_grad_norm_'s max norm (or null), dropout p
    prompt, generate         the prompt as lists of words, one per batch column (equal lengths); ids to generate
V is the corpus's vocabulary size; T and B are those of the evaluation batch (the first T steps of the batchified
corpus with B columns), whose next words are the loss's target.

Needs PyTorch (Debian's python3-torch, 1.13) and NumPy.
"""
import importlib.util, json, os, random, sys
import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN_MODELS = os.environ.get("GEN_MODELS", os.path.join(ROOT, "..", "shared", "fixtures", "models", "gen_models.py"))
spec = importlib.util.spec_from_file_location("gen_models", GEN_MODELS)
gm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gm)

CASES = [
    # 3 stacked LSTM layers under other names, a padding row without lengths (its gradient is still zero)
    dict(id="lm_lstm3_names", cell="LSTM", names=["embeddings", "recurrent", "proj"], V=24, E=8, H=8, L=3, T=6, B=2,
         padding_idx=0, head_on="steps"),
    # a tied GRU language model, time-major, with an Adam trajectory (the tied weight has one Adam state)
    dict(id="lm_gru_tied", cell="GRU", names=["embed", "gru", "linear"], V=20, E=10, H=10, L=1, T=7, B=3,
         tied=True, head_on="steps", train=dict(kind="adam", lr=0.01, steps=2)),
    # a time-major unidirectional GRU classifier on the final states of packed sequences, one of length 1,
    # with "encoder" naming the recurrent core (not the embedding)
    dict(id="clf_gru_final_timemajor", cell="GRU", names=["embedding", "encoder", "classifier"], V=30, E=8, H=10,
         L=1, T=6, B=4, O=4, lengths=[6, 3, 5, 1], padding_idx=0, head_on="final",
         train=dict(kind="sgd", lr=0.5, steps=2)),
    # T = 1: a 2-layer bidirectional LSTM tagger, batch-first
    dict(id="tagger_bilstm_t1", cell="LSTM", names=["emb", "bilstm", "tagger"], V=15, E=6, H=5, L=2, T=1, B=3, O=4,
         bidirectional=True, batch_first=True, head_on="steps"),
    # a bidirectional GRU tagger, batch-first, packed lengths and a padding row
    dict(id="tagger_bigru_bf", cell="GRU", names=["word_embeddings", "bigru", "hidden2tag"], V=22, E=6, H=7, L=2,
         T=6, B=3, O=5, bidirectional=True, batch_first=True, lengths=[6, 2, 4], padding_idx=0, head_on="steps"),
    # an Elman RNN (tanh) language model, 2 layers, SGD with clip_grad_norm_ engaged at every step
    dict(id="lm_rnn_tanh_clip", cell="RNN", nonlinearity="tanh", names=["tok_emb", "elman", "out_proj"], V=18, E=7,
         H=9, L=2, T=8, B=2, head_on="steps", train=dict(kind="sgd", lr=1.0, clip=0.3, steps=4)),
    # word_language_model as its README runs it (LSTM, tied, 2 layers, lr 20, clip 0.25, dropout), scaled down
    dict(id="wordlm_lstm_tied_sgd", cell="LSTM", names=["encoder", "rnn", "decoder"], E=12, H=12, L=2, T=10, B=2,
         tied=True, head_on="steps",
         word_lm=dict(sentences=300, seed=1, steps=600, bptt=12, batch=8, optimizer=dict(kind="sgd", lr=20.0),
                      clip=0.25, dropout=0.2, prompt=[["the", "old"], ["a", "small"]], generate=16)),
    # the same model trained with Adam, one prompt of three words, twenty ids
    dict(id="wordlm_lstm_tied_adam", cell="LSTM", names=["encoder", "rnn", "decoder"], E=10, H=10, L=2, T=8, B=3,
         tied=True, head_on="steps",
         word_lm=dict(sentences=300, seed=2, steps=500, bptt=10, batch=6, optimizer=dict(kind="adam", lr=0.01),
                      clip=0.25, dropout=0.1, prompt=[["my", "dog", "sees"]], generate=20)),
]

# ---- the corpus: sentences of a small grammar, one per line, as word_language_model's data/*/train.txt ----

GRAMMAR = {
    "det": ["the", "a", "my", "your"],
    "adj": {"old": ["farmer", "house", "river"], "small": ["bird", "cat", "child"], "red": ["house", "bird"],
            "happy": ["child", "dog", "farmer"], "quiet": ["river", "cat"]},
    "noun": {"dog": ["follows", "finds"], "cat": ["sees", "likes"], "bird": ["sees", "follows"],
             "child": ["paints", "likes"], "farmer": ["finds", "paints"], "river": ["follows"], "house": ["likes"]},
    "prep": ["near", "behind", "under"],
}


def sentence(r):
    """det [adj] noun verb det [adj] noun [prep det [adj] noun] . -- an adjective picks among its nouns, a noun its verbs."""
    def noun_phrase():
        det = r.choice(GRAMMAR["det"])
        if r.random() < 0.5:
            adj = r.choice(sorted(GRAMMAR["adj"]))
            return [det, adj, r.choice(GRAMMAR["adj"][adj])]
        return [det, r.choice(sorted(GRAMMAR["noun"]))]
    subject = noun_phrase()
    words = subject + [r.choice(GRAMMAR["noun"][subject[-1]])] + noun_phrase()
    if r.random() < 0.3:
        words += [r.choice(GRAMMAR["prep"])] + noun_phrase()
    return words + ["."]


def corpus(w):
    """word_language_model's Corpus: ids in order of first appearance, '<eos>' closing every line."""
    r = random.Random(w["seed"])
    lines = [sentence(r) for _ in range(w["sentences"])]
    vocab, ids = [], []
    for line in lines:
        for word in line + ["<eos>"]:
            if word not in vocab: vocab.append(word)
            ids.append(vocab.index(word))
    return vocab, torch.tensor(ids, dtype=torch.long)


def batchify(data, bsz):
    n = data.size(0) // bsz
    return data[:n * bsz].view(bsz, -1).t().contiguous()


class RNNModel(nn.Module):
    """word_language_model's RNNModel (LSTM/GRU/RNN_TANH), whose state_dict names are the case's: encoder, rnn, decoder."""

    def __init__(self, c, p):
        super().__init__()
        e, r, h = c["names"]
        self.names = (e, r, h)
        self.drop = nn.Dropout(p)
        self.add_module(e, nn.Embedding(c["V"], c["E"]))
        self.add_module(r, getattr(nn, c["cell"])(c["E"], c["H"], c["L"], dropout=p))
        self.add_module(h, nn.Linear(c["H"], c["V"]))
        nn.init.uniform_(getattr(self, e).weight, -0.1, 0.1)
        nn.init.zeros_(getattr(self, h).bias)
        nn.init.uniform_(getattr(self, h).weight, -0.1, 0.1)
        if c.get("tied"):
            getattr(self, h).weight = getattr(self, e).weight

    def forward(self, ids, hidden):
        e, r, h = (getattr(self, n) for n in self.names)
        out, hidden = r(self.drop(e(ids)), hidden)
        return F.log_softmax(h(self.drop(out)), dim=-1), hidden


def detach(hidden):
    return tuple(t.detach() for t in hidden) if isinstance(hidden, tuple) else hidden.detach()


def train_word_lm(c, data):
    w = c["word_lm"]
    torch.manual_seed(w["seed"])
    model = RNNModel(c, w["dropout"])
    train = batchify(data, w["batch"])
    o = w["optimizer"]
    adam = torch.optim.Adam(model.parameters(), lr=o["lr"]) if o["kind"] == "adam" else None
    zeros = torch.zeros(c["L"], w["batch"], c["H"])
    hidden, i = ((zeros, zeros.clone()) if c["cell"] == "LSTM" else zeros), 0
    model.train()
    for step in range(w["steps"]):
        if i + 1 >= train.size(0):  # a new epoch from a zero state
            hidden, i = ((zeros, zeros.clone()) if c["cell"] == "LSTM" else zeros), 0
        n = min(w["bptt"], train.size(0) - 1 - i)
        x, y = train[i:i + n], train[i + 1:i + 1 + n]
        i += n
        model.zero_grad()
        hidden = detach(hidden)
        out, hidden = model(x, hidden)
        loss = F.nll_loss(out.view(-1, c["V"]), y.reshape(-1))
        loss.backward()
        if w.get("clip"): torch.nn.utils.clip_grad_norm_(model.parameters(), w["clip"])
        if adam: adam.step()
        else:
            with torch.no_grad():
                for p in model.parameters(): p.add_(p.grad, alpha=-o["lr"])
        if step % 100 == 0 or step == w["steps"] - 1:
            print("  %s step %d loss %.3f" % (c["id"], step, float(loss)), file=sys.stderr)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def greedy(model, prompt, steps):
    """Greedy ids [steps, B] from the prompt's final state, and the smallest top-1 over top-2 logit margin."""
    with torch.no_grad():
        logits, _, hid = model(prompt)
        out, margin = [], float("inf")
        for _ in range(steps):
            last = logits[-1]
            top = last.topk(2, dim=-1).values
            margin = min(margin, float((top[:, 0] - top[:, 1]).min()))
            nxt = last.argmax(dim=-1)
            out.append(nxt)
            logits, _, hid = model(nxt.view(1, -1), None, hid)
    return torch.stack(out), margin


def tied_model(c, sd, dtype):
    e, _, h = c["names"]
    m = gm.TextModel(c).to(dtype)
    m.load_state_dict({k: v.to(dtype) for k, v in sd.items()})
    if c.get("tied"): getattr(m, h).weight = getattr(m, e).weight
    return m


def word_lm_doc(c, out_dir):
    """A trained word LM's case: gen_models' format for its weights and an evaluation batch, plus "generate"."""
    w = c["word_lm"]
    vocab, data = corpus(w)
    c = dict(c, V=len(vocab))
    assert not c.get("batch_first") and c["head_on"] == "steps" and not c.get("bidirectional")
    sd32 = train_word_lm(c, data)
    e, r, h = c["names"]
    T, B, V = c["T"], c["B"], c["V"]
    evaluation = batchify(data, B)
    ids, target = evaluation[:T], evaluation[1:T + 1]
    file_sd = {k: v for k, v in sd32.items() if not (c.get("tied") and k == h + ".weight")}
    gm.write_safetensors(os.path.join(out_dir, c["id"] + ".safetensors"), file_sd)

    md = tied_model(c, sd32, torch.float64)
    logits, out, hid = md(ids)
    loss = gm.loss_of(c, logits, target, None)
    loss.backward()
    grads = {k: p.grad for k, p in md.named_parameters()}
    if c.get("tied"): grads[h + ".weight"] = grads[e + ".weight"]

    prompt = torch.tensor([[vocab.index(word) for word in column] for column in w["prompt"]]).t().contiguous()
    expected, margin64 = greedy(md, prompt, w["generate"])
    ids32, margin32 = greedy(tied_model(c, sd32, torch.float32).eval(), prompt, w["generate"])
    assert torch.equal(expected, ids32), "float32 and float64 continuations differ: pick another prompt"
    assert min(margin32, margin64) > 1e-3, "a near tie in the continuation (margin %g): pick another prompt" % min(margin32, margin64)

    doc = {
        "id": c["id"], "producer": "torch %s, scripts/gen-model-cases.py" % torch.__version__,
        "modules": {"embedding": {"name": e, "num_embeddings": V, "embedding_dim": c["E"], "padding_idx": None},
                    "rnn": {"name": r, "module": c["cell"], "input_size": c["E"], "hidden_size": c["H"],
                            "num_layers": c["L"], "nonlinearity": "tanh" if c["cell"] == "RNN" else None,
                            "bidirectional": False, "batch_first": False},
                    "head": {"name": h, "in_features": c["H"], "out_features": V, "on": "steps",
                             "tied_to": e + ".weight" if c.get("tied") else None}},
        "state_dict": {k: gm.tensor_json(v) for k, v in sd32.items()},
        "safetensors_keys": list(file_sd.keys()),
        "input_ids": gm.tensor_json(ids), "lengths": None,
        "expected": {"logits": gm.tensor_json(logits), "log_probs": gm.tensor_json(F.log_softmax(logits, dim=-1)),
                     "output": gm.tensor_json(out),
                     "h_n": gm.tensor_json(hid[0] if isinstance(hid, tuple) else hid),
                     "c_n": gm.tensor_json(hid[1]) if isinstance(hid, tuple) else None},
        "loss": {"kind": "cross_entropy", "target": gm.tensor_json(target), "value": float(loss)},
        "grads": {k: gm.tensor_json(v) for k, v in grads.items()},
        "vocab": vocab,
        "training": {k: w[k] for k in ("sentences", "seed", "steps", "bptt", "batch", "optimizer", "clip", "dropout")},
        "generate": {"prompt": gm.tensor_json(prompt), "steps": w["generate"], "expected": gm.tensor_json(expected),
                     "prompt_words": w["prompt"],
                     "expected_words": [[vocab[i] for i in expected[:, b].tolist()] for b in range(prompt.size(1))],
                     "min_margin": min(margin32, margin64)},
    }
    doc["onnx"] = export_onnx(c, sd32, ids, md, out_dir)
    return doc


def export_onnx(c, sd32, ids, md, out_dir):
    """The float32 model as gen_models.py exports it: opset 14, (ids, h0[, c0]) from zeros, no lengths."""
    m = tied_model(c, sd32, torch.float32).eval()
    h0 = torch.zeros(c["L"], c["B"], c["H"])
    states = (h0, h0.clone()) if c["cell"] == "LSTM" else (h0,)

    class Export(nn.Module):
        def __init__(s, inner): super().__init__(); s.inner = inner
        def forward(s, x, *st): return s.inner(x, None, st if len(st) > 1 else st[0])[0]

    names = ["h0", "c0"][:len(states)]
    torch.onnx.export(Export(m), (ids, *states), os.path.join(out_dir, c["id"] + ".onnx"), opset_version=14,
                      input_names=["ids"] + names, output_names=["logits"])
    with torch.no_grad():
        lg, _, _ = md(ids, None)
    return {"file": c["id"] + ".onnx", "opset": 14, "inputs": ["ids"] + names, "outputs": ["logits"],
            "expected_logits": gm.tensor_json(lg), "note": "h0/c0 are zeros; no lengths"}


if __name__ == "__main__":
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "fixtures", "models")
    os.makedirs(out_dir, exist_ok=True)
    cases = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else CASES
    torch.set_num_threads(1)
    for c in cases:
        doc = word_lm_doc(c, out_dir) if c.get("word_lm") else gm.case_doc(c, out_dir)
        with open(os.path.join(out_dir, c["id"] + ".json"), "w") as f:
            json.dump(doc, f)
        extra = ""
        if doc.get("train"): extra += " grad_norms " + " ".join("%.3f" % s["grad_norm"] for s in doc["train"]["steps"])
        if doc.get("generate"): extra += " generate " + " | ".join(" ".join(ws) for ws in doc["generate"]["expected_words"])
        print(c["id"], "loss %.4f" % doc["loss"]["value"] + extra, file=sys.stderr)
