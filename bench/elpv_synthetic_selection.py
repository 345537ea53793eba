"""ELPV: choosing a position-aware patch kNN configuration on synthetic defects (training files only).

Holds out 113 training normals (seeded 10%), makes one synthetic defect from each (even: 1-2
thin dark polylines, the look of cracks; odd: a blurred dark ellipse, the look of inactive
areas; seeded), fits position-aware patch kNN (= anogen's `patchcore --position-aware` on pixels)
on the other 1,018 normals for eight configurations (64 / 128 px, 4/2, 8/4, 16/8 patch/stride,
with or without per-image standardisation), and prints each one's AUROC of held-out normals vs
synthetic defects and the selected (best) configuration. No test image is read.
bench/elpv_synthetic_selection_test.py then scores the selected configuration on the test split
once. Results: bench/results/issue13-2026-11-30/README.md, section 8.

    /usr/bin/python3 bench/elpv_synthetic_selection.py
"""
# Synthetic-anomaly validation for ELPV config selection (training files only).
import numpy as np, torch, csv, sys, math
from PIL import Image, ImageDraw, ImageFilter
from sklearn.metrics import roc_auc_score
torch.set_num_threads(1)
R='/work/shared/data/elpv/'
rows=list(csv.DictReader(open(R+'labels.csv')))
rng=np.random.RandomState(0)
tr=[r for r in rows if r['split']=='train']; perm=rng.permutation(len(tr)); nv=len(tr)//10
val=[tr[i] for i in perm[:nv]]; trn=[tr[i] for i in perm[nv:]]
def img(r): return Image.open(R+r['file']).convert('L')
def defect(im, k, rs):
    a=np.asarray(im,dtype=np.float32)
    m=Image.new('L',im.size,0); d=ImageDraw.Draw(m)
    if k%2==0:  # crack: 1-2 thin dark polylines
        for _ in range(rs.randint(1,3)):
            x,y=rs.uniform(10,118,2); ang=rs.uniform(0,2*math.pi); pts=[(x,y)]
            for _ in range(rs.randint(2,5)):
                ang+=rs.uniform(-0.5,0.5); L=rs.uniform(10,35); x+=L*math.cos(ang); y+=L*math.sin(ang); pts.append((x,y))
            d.line(pts,fill=255,width=int(rs.randint(1,3)))
        depth=rs.uniform(0.3,0.6)
    else:  # inactive / dark region
        cx,cy=rs.uniform(15,113,2); w,h=rs.uniform(10,45,2)
        d.ellipse([cx-w/2,cy-h/2,cx+w/2,cy+h/2],fill=255)
        m=m.filter(ImageFilter.GaussianBlur(2)); depth=rs.uniform(0.4,0.8)
    mm=np.asarray(m,dtype=np.float32)/255
    return Image.fromarray(np.clip(a*(1-depth*mm),0,255).astype(np.uint8))
rs=np.random.RandomState(1)
val_img=[img(r) for r in val]; syn=[defect(im,k,rs) for k,im in enumerate(val_img)]
def arr(ims,size): return torch.tensor(np.stack([np.asarray(i.resize((size,size),Image.BILINEAR),dtype=np.float32)/127.5-1 for i in ims]))
def std(x): return (x-x.mean((1,2),keepdim=True))/(x.std((1,2),keepdim=True)+1e-6)
def patches(x,p,s):
    u=x.unsqueeze(1).unfold(2,p,s).unfold(3,p,s); N,_,H,W,_,_=u.shape
    return u.reshape(N,H*W,p*p).transpose(0,1).contiguous()  # P,N,D
def aware(tr,te,p,s):
    Pt=patches(tr,p,s); Pe=patches(te,p,s); out=[]
    for i in range(0,te.shape[0],64):
        out.append(torch.cdist(Pe[:,i:i+64],Pt).min(2).values.max(0).values)
    return torch.cat(out)
trn_img=[img(r) for r in trn]
cands=[(64,8,4,False),(64,8,4,True),(64,4,2,False),(64,4,2,True),(128,16,8,False),(128,16,8,True),(128,8,4,False),(128,8,4,True)]
res=[]
for size,p,s,nrm in cands:
    Xt=arr(trn_img,size); Xv=arr(val_img,size); Xs=arr(syn,size)
    f=(lambda x: std(x)) if nrm else (lambda x:x)
    sc=torch.cat([aware(f(Xt),f(Xv),p,s),aware(f(Xt),f(Xs),p,s)]).numpy()
    a=roc_auc_score([0]*len(Xv)+[1]*len(Xs),sc); res.append((a,size,p,s,nrm))
    print(f'size {size} patch {p}/{s} std {nrm}: synthetic-val AUROC {a:.3f}',flush=True)
best=max(res); print('selected',best)
