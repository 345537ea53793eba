"""The configuration that bench/elpv_synthetic_selection.py selected (128 px, 8 x 8 patches at
stride 4, position-aware, raw pixels), scored once on ELPV's test split (test/good vs
test/defect). Measured 2026-11-30: 0.761.

    /usr/bin/python3 bench/elpv_synthetic_selection_test.py
"""
import os
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'elpv_synthetic_selection.py')).read().split("cands=")[0])
tg = [r for r in rows if r['split'] == 'test' and r['label'] == 'good']
td = [r for r in rows if r['label'] == 'defect']
size, p, s = 128, 8, 4
Xt = arr(trn_img, size)
Xg = arr([img(r) for r in tg], size)
Xd = arr([img(r) for r in td], size)
sc = torch.cat([aware(Xt, Xg, p, s), aware(Xt, Xd, p, s)]).numpy()
print('TEST 128 px 8/4 aware raw:', roc_auc_score([0] * len(Xg) + [1] * len(Xd), sc))
