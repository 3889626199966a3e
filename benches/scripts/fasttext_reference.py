"""Trains with the fastText tool (Python module of fasttext-wheel) and reports
the same figures as examples/fasttext_train.rs.

    python fasttext_reference.py MODE CORPUS OUTPUT DIM EPOCH THREADS [key=value...] [test=FILE]
"""
import sys
import time

import fasttext

mode, corpus, out, dim, epoch, thread = sys.argv[1:7]
conv = {"lr": float, "t": float, "minCount": int, "wordNgrams": int, "bucket": int,
        "minn": int, "maxn": int, "ws": int, "neg": int, "loss": str, "seed": int, "test": str}
kw = {}
for a in sys.argv[7:]:
    k, v = a.split("=", 1)
    kw[k] = conv[k](v)
test = kw.pop("test", None)
t0 = time.time()
if mode == "supervised":
    m = fasttext.train_supervised(corpus, dim=int(dim), epoch=int(epoch), thread=int(thread), verbose=0, **kw)
else:
    m = fasttext.train_unsupervised(corpus, model=mode, dim=int(dim), epoch=int(epoch), thread=int(thread), verbose=0, **kw)
secs = time.time() - t0
# Words/s: divide the token count embed-fasttext prints (ntokens × epoch) by
# these seconds. Counting here would add the count's memory to the peak RSS.
print("trained in %.1fs" % secs, file=sys.stderr)
m.save_model(out + ".bin")
if test:
    _, p1, _ = m.test(test, 1)
    _, p5, r5 = m.test(test, 5)
    print("P@1 %.4f R@5 %.4f" % (p1, r5), file=sys.stderr)
