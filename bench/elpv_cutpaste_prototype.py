"""CutPaste-style self-supervised features on ELPV, a PyTorch prototype (not part of anogen).

Li, Sohn, Yoon & Pfister, "CutPaste: Self-Supervised Learning for Anomaly Detection and
Localization", CVPR 2021: a CNN learns to tell normal images from CutPaste and scar-augmented
ones (3-way), then a Gaussian (Ledoit-Wolf) on its L2-normalised penultimate features scores
the test images. Here from scratch (no pretrained weights exist on these machines): a 10-layer
VGG-style CNN of width W on gray 64 px images, SGD 0.03 with cosine decay, batch 32 per class,
horizontal flips; the 1,018 training normals after a seeded 10% hold-out (printed "val": the
held-out normals against test/uncertain, a weak validation; "test": test/good vs test/defect).

    /usr/bin/python3 bench/elpv_cutpaste_prototype.py SIZE EPOCHS WIDTH     # run: 64 20 16

Measured 2026-11-30 (2 shared cores, 462 s of training): val 0.419, test 0.649 - below every
pixel floor, so it was not ported to anogen (bench/results/issue13-2026-11-30/README.md).
"""
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F, csv, sys, time, math
from PIL import Image
from sklearn.metrics import roc_auc_score
from sklearn.covariance import LedoitWolf
torch.set_num_threads(2); torch.manual_seed(0)
R='/work/shared/data/elpv/'
rows=list(csv.DictReader(open(R+'labels.csv')))
size=int(sys.argv[1]); epochs=int(sys.argv[2]); width=int(sys.argv[3])
def load(rs):
    return torch.tensor(np.stack([np.asarray(Image.open(R+r['file']).convert('L').resize((size,size),Image.BILINEAR),dtype=np.float32)/127.5-1 for r in rs])).unsqueeze(1)
rng=np.random.RandomState(0)
tr=[r for r in rows if r['split']=='train']; perm=rng.permutation(len(tr)); nv=len(tr)//10
trn=[tr[i] for i in perm[nv:]]; val=[tr[i] for i in perm[:nv]]
unc=[r for r in rows if r['label']=='uncertain']
tg=[r for r in rows if r['split']=='test' and r['label']=='good']; td=[r for r in rows if r['label']=='defect']
Xtr,Xv,Xu,Xg,Xd=map(load,[trn,val,unc,tg,td])
g=torch.Generator().manual_seed(0)
def U(a,b): return a+(b-a)*torch.rand((),generator=g).item()
def jitter(p):
    # brightness/contrast 0.1 in [-1,1] space
    b=U(-0.1,0.1)*2; c=U(0.9,1.1); m=p.mean(); return ((p-m)*c+m+b).clamp(-1,1)
def cutpaste(x):
    H=W=x.shape[-1]; area=U(0.02,0.15)*H*W; ar=math.exp(U(math.log(0.3),math.log(1/0.3)))
    h=int(min(H-1,round(math.sqrt(area*ar)))); w=int(min(W-1,round(math.sqrt(area/ar))))
    y0=int(U(0,H-h)); x0=int(U(0,W-w)); y1=int(U(0,H-h)); x1=int(U(0,W-w))
    y=x.clone(); y[:,y1:y1+h,x1:x1+w]=jitter(x[:,y0:y0+h,x0:x0+w]); return y
def scar(x):
    H=x.shape[-1]; s=H/256
    w=max(1,int(U(2,16)*s*2)); h=max(2,int(U(10,25)*s*2)); 
    y0=int(U(0,H-h)); x0=int(U(0,H-w))
    patch=jitter(x[:,y0:y0+h,x0:x0+w])
    ang=U(-45,45)*math.pi/180
    # rotate patch by building a mask via affine grid on a padded canvas
    L=int(math.ceil(math.hypot(h,w)))+2
    can=torch.zeros(1,1,L,L); msk=torch.zeros(1,1,L,L)
    oy=(L-h)//2; ox=(L-w)//2; can[0,:,oy:oy+h,ox:ox+w]=patch; msk[0,:,oy:oy+h,ox:ox+w]=1
    th=torch.tensor([[math.cos(ang),-math.sin(ang),0],[math.sin(ang),math.cos(ang),0]],dtype=torch.float32).unsqueeze(0)
    grid=F.affine_grid(th,can.shape,align_corners=False)
    can=F.grid_sample(can,grid,align_corners=False); msk=F.grid_sample(msk,grid,align_corners=False)>0.5
    ty=int(U(0,H-L)); tx=int(U(0,H-L))
    y=x.clone(); reg=y[:,ty:ty+L,tx:tx+L]; reg[msk[0]]=can[0][msk[0]]; return y
def block(i,o): return nn.Sequential(nn.Conv2d(i,o,3,padding=1,bias=False),nn.BatchNorm2d(o),nn.ReLU(),nn.Conv2d(o,o,3,padding=1,bias=False),nn.BatchNorm2d(o),nn.ReLU(),nn.MaxPool2d(2))
class Net(nn.Module):
    def __init__(s,w):
        super().__init__()
        s.f=nn.Sequential(block(1,w),block(w,2*w),block(2*w,4*w),block(4*w,8*w),block(8*w,8*w))
        s.head=nn.Sequential(nn.Linear(8*w,8*w),nn.BatchNorm1d(8*w),nn.ReLU(),nn.Linear(8*w,3))
    def emb(s,x): return s.f(x).mean((2,3))
    def forward(s,x): return s.head(s.emb(x))
net=Net(width); opt=torch.optim.SGD(net.parameters(),lr=0.03,momentum=0.9,weight_decay=3e-5)
bs=32; steps=epochs*(len(Xtr)//bs); sched=torch.optim.lr_scheduler.CosineAnnealingLR(opt,steps)
t0=time.time(); st=0
for ep in range(epochs):
    p=torch.randperm(len(Xtr),generator=g)
    for i in range(0,len(Xtr)-bs+1,bs):
        x=Xtr[p[i:i+bs]]
        if torch.rand((),generator=g)<0.5: x=x.flip(3)
        xb=torch.cat([x,torch.stack([cutpaste(a) for a in x]),torch.stack([scar(a) for a in x])])
        y=torch.arange(3).repeat_interleave(bs)
        loss=F.cross_entropy(net(xb),y); opt.zero_grad(); loss.backward(); opt.step(); sched.step(); st+=1
    print(f'ep {ep} loss {loss.item():.3f} t {time.time()-t0:.0f}s',flush=True)
net.eval()
with torch.no_grad():
    E=lambda X: F.normalize(torch.cat([net.emb(X[i:i+256]) for i in range(0,len(X),256)]),dim=1).numpy()
    etr,ev,eu,eg,ed=map(E,[Xtr,Xv,Xu,Xg,Xd])
lw=LedoitWolf().fit(etr); 
s=lambda e: lw.mahalanobis(e)
print('val',roc_auc_score([0]*len(ev)+[1]*len(eu),np.concatenate([s(ev),s(eu)])),'test',roc_auc_score([0]*len(eg)+[1]*len(ed),np.concatenate([s(eg),s(ed)])))
