-- mle.domain: the parts of a DNS name. Which part of "a.b.example.co.uk" did someone
-- register ("example.co.uk"), under which public suffix ("co.uk"), and what is left
-- in front of it ("a.b"), by the rules of the Public Suffix List:
--
--   local domain = require "mle.domain"
--   domain.registrable("a.b.Example.co.uk.")   --> "example.co.uk", "co.uk"
--   domain.split("a.b.example.co.uk")         --> "example.co.uk", "example", "co.uk", "a.b"
--   domain.split("xjwqkzpl.ddns.net")         --> "xjwqkzpl.ddns.net", "xjwqkzpl", "ddns.net", ""
--   domain.registrable("co.uk")               --> nil, "co.uk" (a suffix registers nothing)
--   domain.labels("www.example.com")          --> {"www", "example", "com"}
--   domain.is_tld("com"), domain.is_tld("lan") --> true, false
--
-- Names are compared in lower case, a trailing dot ignored. The list below is a
-- trimmed copy of the Public Suffix List (https://publicsuffix.org/), which is
-- subject to the Mozilla Public License 2.0 (https://mozilla.org/MPL/2.0/); see
-- evaluation/trim_psl.py for what was kept and why (rules of two or more labels of
-- the ICANN section, and the dynamic DNS / free hosting suffixes of the private
-- section; a name no rule matches takes its last label as the suffix, the list's
-- default rule "*"). Internationalised rules are not in it. Lua 5.1 subset, no globals.
local domain = {}

local find, sub, lower, gmatch, byte, match = string.find, string.sub, string.lower, string.gmatch, string.byte, string.match

-- BEGIN SUFFIXES
local SUFFIXES = [[
!city.kawasaki.jp !city.kitakyushu.jp !city.kobe.jp !city.nagoya.jp !city.sapporo.jp !city.sendai.jp
!city.yokohama.jp !www.ck *.bd *.ck *.er *.fk *.jm *.kawasaki.jp *.kh *.kitakyushu.jp *.kobe.jp *.mm
*.nagoya.jp *.nom.br *.np *.pg *.sapporo.jp *.sch.uk *.sendai.jp *.yokohama.jp 0.bg 1.bg 2.bg
2000.hu 3.bg 3utilities.com 4.bg 5.bg 5g.in 6.bg 6g.in 7.bg 8.bg 9.bg 9guacu.br a.bg a.se aa.no
aaa.pro aarborte.no ab.ca abc.br abo.pa abr.it abruzzo.it ac.ae ac.at ac.be ac.ci ac.cn ac.cr ac.cy
ac.fj ac.gn ac.gov.br ac.id ac.il ac.im ac.in ac.ir ac.jp ac.ke ac.kr ac.lk ac.ls ac.ma ac.me ac.mu
ac.mw ac.mz ac.ni ac.nz ac.pa ac.pr ac.rs ac.rw ac.se ac.sz ac.th ac.tj ac.tz ac.ug ac.uk ac.vn
ac.za ac.zm ac.zw aca.pro academia.bo accesscam.org accident-investigation.aero
accident-prevention.aero acct.pro act.au act.edu.au ad.jp adm.br adult.ht adv.br adv.mz aejrie.no
aero.mv aero.tt aerobatic.aero aeroclub.aero aerodrome.aero aeroport.fr afjord.no africa.bj ag.it
agdenes.no agents.aero agr.br agrar.hu agric.za agrigento.it agro.bj agro.bo agro.pl ah.cn ah.no
ai.in aichi.jp aid.pl aip.ee air-surveillance.aero air-traffic-control.aero aircraft.aero
airline.aero airport.aero airtraffic.aero aju.br ak.us akita.jp aknoluokta.no akrehamn.no al.gov.br
al.it al.no al.us alaheadju.no aland.fi alessandria.it alesund.no algard.no alstahaug.no alt.za
alta.no alto-adige.it altoadige.it alvdal.no am.br am.gov.br am.in ambulance.aero amli.no amot.no
amusement.aero an.it anani.br ancona.it andasuolo.no andebu.no andoy.no andria-barletta-trani.it
andria-trani-barletta.it andriabarlettatrani.it andriatranibarletta.it ao.it aomori.jp
aosta-valley.it aosta.it aostavalley.it aoste.it ap.gov.br ap.gov.pl ap.it aparecida.br app.br
appspot.com aq.it aquila.it ar.it ar.us architectes.bj ardal.no aremark.no arendal.no arezzo.it
arna.no arq.br art.br art.do art.dz art.ht art.sn arte.bo arts.co arts.nf arts.ro arts.ve as.us
ascoli-piceno.it ascolipiceno.it aseral.no asker.no askim.no askoy.no askvoll.no asn.au asn.lv
asnes.no ass.km assn.lk asso.ci asso.dz asso.fr asso.gp asso.ht asso.km asso.mc asso.nc asso.re
association.aero assur.bj asti.it at-band-camp.net at.it ath.cx atm.pl ato.br audnedaln.no
augustow.pl aukra.no aure.no aurland.no aurskog-holand.no austevoll.no austrheim.no author.aero
auto.pl av.it av.tr avellino.it averoy.no avocat.fr avocat.pro avocats.bj avoues.fr az.us
azurewebsites.net b.bg b.br b.se ba.gov.br ba.it babia-gora.pl badaddja.no bahcavuotna.no
bahccavuotna.no baidar.no bajddar.no balat.no balestrand.no ballangen.no ballooning.aero
balsan-sudtirol.it balsan-suedtirol.it balsan.it balsfjord.no bamble.no bar.pro bardu.no bari.it
barletta-trani-andria.it barlettatraniandria.it barrel-of-knowledge.info barrell-of-knowledge.info
barueri.br barum.no bas.it basilicata.it batsfjord.no bbs.tr bc.ca bd.se bearalvahki.no beardu.no
bedzin.pl beiarn.no bel.tr belau.pw belem.br belluno.it benevento.it berg.no bergamo.it bergen.no
berlevag.no beskidy.pl bet.ar better-than.tv bg.it bhz.br bi.it bialowieza.pl bialystok.pl bib.br
bib.ve bielawa.pl biella.it bieszczady.pl bievat.no bihar.in bindal.no bio.br birkenes.no biz.az
biz.bb biz.cy biz.et biz.fj biz.id biz.in biz.ki biz.ls biz.mv biz.mw biz.my biz.ni biz.nr biz.pk
biz.pl biz.pr biz.ss biz.tj biz.tr biz.tt biz.vn biz.zm bj.cn bjarkoy.no bjerkreim.no bjugn.no bl.it
blog.bo blog.br blogdns.com blogdns.net blogdns.org blogsite.org blogsite.xyz blogspot.com
blogsyte.com bmd.br bn.it bo.it boavista.br bodo.no bokn.no boldlygoingnowhere.org boleslawiec.pl
bolivia.bo bologna.it bolt.hu bolzano-altoadige.it bolzano.it bomlo.no bounceme.net
bozen-sudtirol.it bozen-suedtirol.it bozen.it br.it brand.se brasilia.me bremanger.no brescia.it
brindisi.it broke-it.net broker.aero bronnoy.no bronnoysund.no brumunddal.no bryne.no bs.it bsb.br
bt.it bu.no budejju.no bulsan-sudtirol.it bulsan-suedtirol.it bulsan.it busan.kr business.in
buyshouses.net bydgoszcz.pl bygland.no bykle.no bytom.pl bz.it c.bg c.se ca.in ca.it ca.na ca.us
caa.aero cable-modem.org cagliari.it cahcesuolo.no cal.it calabria.it caltanissetta.it cam.it
camdvr.org campania.it campidano-medio.it campidanomedio.it campinagrande.br campinas.br
campobasso.it carbonia-iglesias.it carboniaiglesias.it cargo.aero carrara-massa.it carraramassa.it
casacam.net caserta.it casino.hu catania.it catanzaro.it catering.aero catholic.edu.au caxias.br
cb.it cc.na cci.fr ce.gov.br ce.it cechire.com certification.aero cesena-forli.it cesenaforli.it
ch.it chambagri.fr championship.aero charter.aero cherkassy.ua cherkasy.ua chernigov.ua chernihiv.ua
chernivtsi.ua chernovtsy.ua chiba.jp chieti.it chirurgiens-dentistes.fr chungbuk.kr chungnam.kr
ci.it ciencia.bo cieszyn.pl cim.br ciscofreak.com city.hu civilaviation.aero ck.ua cl.it
cloudapp.net cloudfront.net club.aero club.tw cn.in cn.it cn.ua cng.br cnt.br co.ae co.ag co.am
co.ao co.at co.bb co.bi co.bj co.bw co.ci co.cl co.cm co.cr co.gg co.gl co.gy co.hu co.id co.il
co.im co.in co.ir co.it co.je co.jp co.ke co.kr co.lc co.ls co.ma co.me co.mg co.mu co.mw co.mz
co.na co.ni co.nz co.om co.pn co.pw co.rs co.rw co.st co.sz co.th co.tj co.tm co.tt co.tz co.ug
co.uk co.us co.uz co.ve co.vi co.za co.zm co.zw collegefan.org com.ac com.af com.ag com.ai com.al
com.am com.ar com.au com.aw com.az com.ba com.bb com.bh com.bi com.bj com.bm com.bn com.bo com.br
com.bs com.bt com.by com.bz com.ci com.cm com.cn com.co com.cu com.cv com.cw com.cy com.dm com.do
com.dz com.ec com.ee com.eg com.es com.et com.fj com.fm com.fr com.ge com.gh com.gi com.gl com.gn
com.gp com.gr com.gt com.gu com.gy com.hk com.hn com.hr com.ht com.im com.in com.io com.iq com.is
com.jo com.kg com.ki com.km com.kp com.kw com.ky com.kz com.la com.lb com.lc com.lk com.lr com.lv
com.ly com.mg com.mk com.ml com.mo com.ms com.mt com.mu com.mv com.mw com.mx com.my com.na com.nf
com.ng com.ni com.nr com.om com.pa com.pe com.pf com.ph com.pk com.pl com.pr com.ps com.pt com.py
com.qa com.re com.ro com.sa com.sb com.sc com.sd com.sg com.sh com.sl com.sn com.so com.ss com.st
com.sv com.sy com.tj com.tm com.tn com.to com.tr com.tt com.tw com.ua com.ug com.uy com.uz com.vc
com.ve com.vi com.vn com.vu com.ws com.ye com.zm commune.am como.it conf.au conf.lv conference.aero
consulado.st consultant.aero consulting.aero contagem.br control.aero coop.ar coop.br coop.ht
coop.in coop.km coop.mv coop.mw coop.py coop.rw coop.tt cooperativa.bo cosenza.it
couchpotatofries.org council.aero coz.br cpa.pro cq.cn cr.it cr.ua cremona.it crew.aero cri.br
cri.nz crimea.ua crotone.it cs.in cs.it ct.it ct.us cuiaba.br cuneo.it curitiba.br cv.ua cz.it
czeladz.pl czest.pl d.bg d.se daegu.kr daejeon.kr damnserver.com davvenjarga.no davvesiida.no dc.us
ddns.me ddns.net ddnsfree.com ddnsgeek.com ddnsking.com de.us deatnu.no def.br delhi.in
dell-ogliastra.it dellogliastra.it democracia.bo dep.no deporte.bo des.br desa.id design.aero det.br
dev.br df.gov.br dgca.aero dielddanuorri.no ditchyourip.com divtasvuodna.no divttasvuotna.no
dlugoleka.pl dn.ua dnepropetrovsk.ua dni.us dnipropetrovsk.ua dnsalias.com dnsalias.net dnsalias.org
dnsdojo.com dnsdojo.net dnsdojo.org dnsfor.me dnsiskinky.com does-it.net doesntexist.com
doesntexist.org donetsk.ua donna.no dontexist.com dontexist.net dontexist.org doomdns.com
doomdns.org dovre.no dp.ua dr.in dr.na dr.tr drammen.no drangedal.no drobak.no duckdns.org
dvrcam.info dvrdns.org dyn-o-saur.com dynalias.com dynalias.net dynalias.org dynathome.net
dyndns-at-home.com dyndns-at-work.com dyndns-blog.com dyndns-free.com dyndns-home.com dyndns-ip.com
dyndns-mail.com dyndns-office.com dyndns-pics.com dyndns-remote.com dyndns-server.com dyndns-web.com
dyndns-wiki.com dyndns-work.com dyndns.biz dyndns.info dyndns.org dyndns.tv dyndns.ws dynns.com
dynu.net dynv6.net dyroy.no e.bg e.se e12.ve e164.arpa eating-organic.net ebiz.tw ecn.br eco.bj
eco.br ecologia.bo econo.bj economia.bo ed.ao ed.ci ed.cr ed.jp ed.pw edu.ac edu.af edu.al edu.ar
edu.au edu.az edu.ba edu.bb edu.bh edu.bi edu.bj edu.bm edu.bn edu.bo edu.br edu.bs edu.bt edu.bz
edu.ci edu.cn edu.co edu.cu edu.cv edu.cw edu.dm edu.do edu.dz edu.ec edu.ee edu.eg edu.es edu.et
edu.fm edu.gd edu.ge edu.gh edu.gi edu.gl edu.gn edu.gp edu.gr edu.gt edu.gu edu.gy edu.hk edu.hn
edu.ht edu.in edu.iq edu.is edu.it edu.jo edu.kg edu.ki edu.km edu.kn edu.kp edu.kw edu.ky edu.kz
edu.la edu.lb edu.lc edu.lk edu.lr edu.ls edu.lv edu.ly edu.me edu.mg edu.mk edu.ml edu.mn edu.mo
edu.ms edu.mt edu.mv edu.mw edu.mx edu.my edu.mz edu.ng edu.ni edu.nr edu.om edu.pa edu.pe edu.pf
edu.ph edu.pk edu.pl edu.pn edu.pr edu.ps edu.pt edu.py edu.qa edu.rs edu.sa edu.sb edu.sc edu.sd
edu.sg edu.sl edu.sn edu.so edu.ss edu.st edu.sv edu.sy edu.tj edu.tm edu.to edu.tr edu.tt edu.tw
edu.ua edu.uy edu.vc edu.ve edu.vn edu.vu edu.ws edu.ye edu.za edu.zm educator.aero egersund.no
ehime.jp eid.no eidfjord.no eidsberg.no eidskog.no eidsvoll.no eigersund.no ekloges.cy elblag.pl
elk.pl elverum.no emb.kw embaixada.st emergency.aero emilia-romagna.it emiliaromagna.it emp.br
empresa.bo emr.it en.it endofinternet.net endofinternet.org endoftheinternet.org enebakk.no enf.br
eng.br eng.pro engerdal.no engine.aero engineer.aero enna.it ens.tn entertainment.aero
equipment.aero er.in erotica.hu erotika.hu es.gov.br es.kr esp.br est-a-la-maison.com
est-a-la-masion.com est-le-patron.com est-mon-blogueur.com est.pr etc.br eti.br etne.no etnedal.no
eu.int eun.eg evenassi.no evenes.no evje-og-hornnes.no exchange.aero experts-comptables.fr
express.aero f.bg f.se fam.pk fantasyleague.cc far.br farsund.no fauske.no fc.it fe.it fed.us
federation.aero fedje.no feira.br fermo.it ferrara.it fet.no fetsund.no fg.it fh.se fhs.no fhsk.se
fhv.se fi.cr fi.it fie.ee film.hu fin.ec fin.tn finnoy.no firebaseapp.com firenze.it firm.co firm.ht
firm.in firm.nf firm.ro firm.ve fitjar.no fj.cn fjaler.no fjell.no fl.us fla.no flakstad.no
flatanger.no flekkefjord.no flesberg.no flight.aero flog.br flora.no florence.it floripa.br floro.no
fly.dev fm.br fm.it fm.no fnd.br foggia.it folkebibl.no folldal.no for-better.biz for-more.biz
for-our.info for-some.biz for-the.biz forde.no forgot.her.name forgot.his.name forli-cesena.it
forlicesena.it forsand.no fortal.br forum.hu fosnes.no fot.br foz.br fr.it frana.no fredrikstad.no
freeddns.org frei.no friuli-v-giulia.it friuli-ve-giulia.it friuli-vegiulia.it
friuli-venezia-giulia.it friuli-veneziagiulia.it friuli-vgiulia.it friuliv-giulia.it
friulive-giulia.it friulivegiulia.it friulivenezia-giulia.it friuliveneziagiulia.it friulivgiulia.it
frogn.no froland.no from-ak.com from-al.com from-ar.com from-az.net from-ca.com from-co.net
from-ct.com from-dc.com from-de.com from-fl.com from-ga.com from-hi.com from-ia.com from-id.com
from-il.com from-in.com from-ks.com from-ky.com from-la.net from-ma.com from-md.com from-me.org
from-mi.com from-mn.com from-mo.com from-ms.com from-mt.com from-nc.com from-nd.com from-ne.com
from-nh.com from-nj.com from-nm.com from-nv.com from-ny.net from-oh.com from-ok.com from-or.com
from-pa.com from-pr.com from-ri.com from-sc.com from-sd.com from-tn.com from-tx.com from-ut.com
from-va.com from-vt.com from-wa.com from-wi.com from-wv.com from-wy.com from.hr frosinone.it
frosta.no froya.no fst.br ftpaccess.cc fuel.aero fuettertdasnetz.de fukui.jp fukuoka.jp fukushima.jp
fuoisku.no fuossko.no fusa.no fvg.it fylkesbibl.no fyresdal.no g.bg g.se g12.br ga.us gaivuotna.no
galsa.no game-host.org game-server.cc game.tw games.hu gamvik.no gangaviika.no gangwon.kr gaular.no
gausdal.no gc.ca gd.cn ge.it geek.nz geekgalaxy.com gen.in gen.nz gen.tr genoa.it genova.it geo.br
geometre-expert.fr getmyip.com gets-it.net ggf.br giehtavuoatna.no gifu.jp giize.com gildeskal.no
giske.no github.io githubusercontent.com gjemnes.no gjerdrum.no gjerstad.no gjesdal.no gjovik.no
gleeze.com gliding.aero glitch.me glogow.pl gloppen.no gmina.pl gniezno.pl go.ci go.cr go.dyndns.org
go.gov.br go.id go.it go.jp go.ke go.kr go.pw go.th go.tj go.tz go.ug gob.ar gob.bo gob.cl gob.do
gob.ec gob.es gob.gt gob.hn gob.mx gob.ni gob.pa gob.pe gob.pk gob.sv gob.ve goiania.br gok.pk
gol.no golffan.us gon.pk gop.pk gorizia.it gorlice.pl gos.pk gotdns.ch gotdns.com gotdns.org gouv.ci
gouv.fr gouv.ht gouv.km gouv.ml gouv.sn gov.ac gov.ae gov.af gov.al gov.ar gov.as gov.au gov.az
gov.ba gov.bb gov.bf gov.bh gov.bm gov.bn gov.br gov.bs gov.bt gov.by gov.bz gov.cd gov.cl gov.cm
gov.cn gov.co gov.cu gov.cx gov.cy gov.dm gov.do gov.dz gov.ec gov.ee gov.eg gov.et gov.fj gov.gd
gov.ge gov.gh gov.gi gov.gn gov.gr gov.gu gov.gy gov.hk gov.ie gov.il gov.in gov.iq gov.ir gov.is
gov.it gov.jo gov.kg gov.ki gov.km gov.kn gov.kp gov.kw gov.kz gov.la gov.lb gov.lc gov.lk gov.lr
gov.ls gov.lt gov.lv gov.ly gov.ma gov.me gov.mg gov.mk gov.ml gov.mn gov.mo gov.mr gov.ms gov.mu
gov.mv gov.mw gov.my gov.mz gov.nc.tr gov.ng gov.nr gov.om gov.ph gov.pk gov.pl gov.pn gov.pr gov.ps
gov.pt gov.py gov.qa gov.rs gov.rw gov.sa gov.sb gov.sc gov.sd gov.sg gov.sh gov.sl gov.so gov.ss
gov.sx gov.sy gov.tj gov.tl gov.tm gov.tn gov.to gov.tr gov.tt gov.tw gov.ua gov.uk gov.vc gov.ve
gov.vn gov.ws gov.ye gov.za gov.zm gov.zw government.aero govt.nz gr.it gr.jp grajewo.pl gran.no
grane.no granvin.no gratangen.no greta.fr grimstad.no griw.gov.pl groks-the.info groks-this.info
grondar.za grong.no grosseto.it groundhandling.aero group.aero grp.lk gru.br grue.no gs.cn gsm.pl
gu.us guam.gu gub.uy gujarat.in gulen.no gunma.jp guovdageaidnu.no gv.ao gv.at gwangju.kr gx.cn
gyeongbuk.kr gyeonggi.kr gyeongnam.kr gz.cn h.bg h.se ha.cn ha.no habmer.no hadsel.no hagebostad.no
halden.no halsa.no ham-radio-op.net hamar.no hamaroy.no hammarfeasta.no hammerfest.no
hanggliding.aero hapmir.no haram.no hareid.no harstad.no hasvik.no hattfjelldal.no haugesund.no
hb.cn he.cn health-carereform.com health.nz health.vn hemne.no hemnes.no hemsedal.no herad.no
here-for-more.info herokuapp.com hi.cn hi.us hiroshima.jp hitra.no hjartdal.no hjelmeland.no hk.cn
hl.cn hl.no hm.no hn.cn hobby-site.com hobby-site.org hobol.no hof.no hokkaido.jp hokksund.no hol.no
hole.no holmestrand.no holtalen.no home.dyndns.org homebuilt.aero homedns.org homeftp.net
homeftp.org homeip.net homelinux.com homelinux.net homelinux.org homesecuritymac.com
homesecuritypc.com homeunix.com homeunix.net homeunix.org honefoss.no hopto.me hopto.org
hornindal.no horten.no hotel.hu hotel.lk hotel.tz hoyanger.no hoylandet.no hs.kr huissier-justice.fr
hurdal.no hurum.no hvaler.no hyllestad.no hyogo.jp i.bg i.ng i.ph i.se ia.us iamallama.com
ibaraki.jp ibestad.no ic.gov.pl id.au id.ir id.lv id.ly id.us idf.il idrett.no idv.hk idv.tw if.ua
iglesias-carbonia.it iglesiascarbonia.it il.us ilawa.pl ilovecollege.info im.it imb.br imperia.it
in-addr.arpa in-the-band.net in.na in.ni in.rs in.th in.ua in.us incheon.kr ind.br ind.gt ind.in
ind.kw ind.tn inderoy.no indigena.bo industria.bo inf.br inf.cu inf.mk info.au info.az info.bb
info.bj info.bo info.co info.ec info.et info.fj info.gu info.ht info.hu info.in info.ke info.ki
info.la info.ls info.mv info.na info.nf info.ni info.nr info.pk info.pl info.pr info.ro info.sd
info.tn info.tr info.tt info.tz info.ve info.vn info.zm ing.pa ingatlan.hu insurance.aero int.ar
int.az int.bo int.ci int.co int.cv int.in int.is int.la int.lk int.mv int.mw int.ni int.pt int.tj
int.tt int.ve int.vn internet.in intl.tn io.in ip6.arpa iris.arpa is-a-anarchist.com
is-a-blogger.com is-a-bookkeeper.com is-a-bruinsfan.org is-a-bulls-fan.com is-a-candidate.org
is-a-caterer.com is-a-celticsfan.org is-a-chef.com is-a-chef.net is-a-chef.org is-a-conservative.com
is-a-cpa.com is-a-cubicle-slave.com is-a-democrat.com is-a-designer.com is-a-doctor.com
is-a-financialadvisor.com is-a-geek.com is-a-geek.net is-a-geek.org is-a-green.com is-a-guru.com
is-a-hard-worker.com is-a-hunter.com is-a-knight.org is-a-landscaper.com is-a-lawyer.com
is-a-liberal.com is-a-libertarian.com is-a-linux-user.org is-a-llama.com is-a-musician.com
is-a-nascarfan.com is-a-nurse.com is-a-painter.com is-a-patsfan.org is-a-personaltrainer.com
is-a-photographer.com is-a-player.com is-a-republican.com is-a-rockstar.com is-a-socialist.com
is-a-soxfan.org is-a-student.com is-a-teacher.com is-a-techie.com is-a-therapist.com
is-an-accountant.com is-an-actor.com is-an-actress.com is-an-anarchist.com is-an-artist.com
is-an-engineer.com is-an-entertainer.com is-by.us is-certified.com is-found.org is-gone.com
is-into-anime.com is-into-cars.com is-into-cartoons.com is-into-games.com is-leet.com is-lost.org
is-not-certified.com is-saved.org is-slick.com is-uberleet.com is-very-bad.org is-very-evil.org
is-very-good.org is-very-nice.org is-very-sweet.org is-with-theband.com is.gov.pl is.it isa-geek.com
isa-geek.net isa-geek.org isa-hockeynut.com isa.us isernia.it ishikawa.jp isla.pr
issmarterthanyou.com isteingeek.de istmein.de it.ao its.me ivano-frankivsk.ua iveland.no ivgu.no
iwate.jp iwi.nz iz.hr j.bg jab.br jampa.br jan-mayen.no jaworzno.pl jdf.br jeju.kr jelenia-gora.pl
jeonbuk.kr jeonnam.kr jessheim.no jevnaker.no jgora.pl jl.cn jobs.tt jogasz.hu joinville.br
jolster.no jondal.no jor.br jorpeland.no journal.aero journalist.aero js.cn jur.pro jus.br jx.cn
k.bg k.se k12.ec k12.il k12.tr k12.vi kafjord.no kagawa.jp kagoshima.jp kalisz.pl kanagawa.jp
karasjohka.no karasjok.no karlsoy.no karmoy.no karpacz.pl kartuzy.pl kaszuby.pl katowice.pl
kautokeino.no kazimierz-dolny.pl kep.tr kepno.pl ketrzyn.pl kg.kr kh.ua kharkiv.ua kharkov.ua
kherson.ua khmelnitskiy.ua khmelnytskyi.ua kicks-ass.net kicks-ass.org kids.us kiev.ua kirkenes.no
kirovograd.ua kiwi.nz klabu.no klepp.no klodzko.pl km.ua kmpsp.gov.pl knowsitall.info kobierzyce.pl
kochi.jp kolobrzeg.pl komforb.se kommunalforbund.se kommune.no komvux.se kongsberg.no kongsvinger.no
konin.pl konskowola.pl konsulat.gov.pl konyvelo.hu kopervik.no kozow.com kppsp.gov.pl kr.it kr.ua
kraanghke.no kragero.no kristiansand.no kristiansund.no krodsherad.no krokstadelva.no krym.ua ks.ua
ks.us kumamoto.jp kutno.pl kv.ua kvafjord.no kvalsund.no kvam.no kvanangen.no kvinesdal.no
kvinnherad.no kviteseid.no kvitsoy.no kwp.gov.pl kwpsp.gov.pl ky.us kyiv.ua kyoto.jp l.bg l.se
la-spezia.it la.us laakesvuemie.no lahppi.no lakas.hu lanbib.se land-4-sale.us langevag.no lapy.pl
laquila.it lardal.no larvik.no laspezia.it latina.it lavagis.no lavangen.no law.pro law.za laz.it
lazio.it lc.it le.it leangaviika.no leasing.aero lebesby.no lebork.pl lebtimnetz.de lecce.it
lecco.it leg.br legnica.pl leikanger.no leirfjord.no leirvik.no leitungsen.de leka.no leksvik.no
lel.br lenvik.no lerdal.no lesja.no levanger.no lezajsk.pl lg.jp lg.ua li.it lib.ee lier.no
lierne.no lig.it liguria.it likes-pie.com likescandy.com lillehammer.no lillesand.no limanowa.pl
lindas.no lindesnes.no livorno.it ln.cn lo.it loabat.no lodi.it lodingen.no log.br loginto.me
logistics.aero loisirs.bj lom.it lom.no lombardia.it lombardy.it lomza.pl londrina.br loppa.no
lorenskog.no loseyourip.com loten.no lowicz.pl lt.it lt.ua ltd.co.im ltd.cy ltd.gi ltd.lk ltd.uk
lu.it lubin.pl lucania.it lucca.it lugansk.ua lukow.pl lund.no lunner.no luroy.no luster.no lutsk.ua
lv.ua lviv.ua lyngdal.no lyngen.no m.bg m.se ma.gov.br ma.us macapa.br maceio.br macerata.it
magazine.aero mail.pl maintenance.aero malatvuopmi.no malbork.pl malopolska.pl malselv.no malvik.no
manaus.br mandal.no mantova.it maori.nz mar.it marche.it maringa.br marker.no marnardal.no
masfjorden.no masoy.no massa-carrara.it massacarrara.it mat.br matera.it matta-varjjat.no
mazowsze.pl mazury.pl mb.ca mb.it mc.it md.ci md.us me.in me.it me.ke me.so me.ss me.tz me.uk me.us
med.br med.ec med.ee med.ht med.ly med.om med.pa med.pro med.sa med.sd medecin.fr medecin.km
media.aero media.hu media.pl medicina.bo medio-campidano.it mediocampidano.it meland.no meldal.no
melhus.no meloy.no meraker.no merseine.nu messina.it mg.gov.br mi.it mi.th mi.us miasta.pl
microlight.aero midsund.no midtre-gauldal.no mie.jp mielec.pl mielno.pl mil.ac mil.ae mil.al mil.ar
mil.az mil.ba mil.bo mil.br mil.by mil.cl mil.cn mil.co mil.cy mil.do mil.ec mil.eg mil.fj mil.ge
mil.gh mil.gt mil.hn mil.id mil.in mil.iq mil.jo mil.kg mil.km mil.kr mil.kz mil.lv mil.mg mil.mv
mil.my mil.mz mil.ng mil.ni mil.no mil.nz mil.pe mil.ph mil.pl mil.py mil.qa mil.rw mil.sh mil.st
mil.sy mil.tj mil.tm mil.to mil.tr mil.tw mil.tz mil.uy mil.vc mil.ve mil.ye mil.za mil.zm mil.zw
milan.it milano.it mincom.tn mine.nu misconfused.org miyagi.jp miyazaki.jp mjondalen.no mk.ua
mlbfan.org mmafan.biz mn.it mn.us mo-i-rana.no mo.cn mo.it mo.us moareke.no mobi.gp mobi.ke mobi.na
mobi.ng mobi.tt mobi.tz mod.gi modalen.no modelling.aero modena.it modum.no mol.it molde.no
molise.it money.bj monza-brianza.it monza-e-della-brianza.it monza.it monzabrianza.it
monzaebrianza.it monzaedellabrianza.it morena.br mosjoen.no moskenes.no moss.no mosvik.no
movimiento.bo mp.br mr.no mragowo.pl ms.gov.br ms.it ms.kr ms.us mt.gov.br mt.it mt.us muni.il
muosat.no mup.gov.pl mus.br museum.mv museum.mw museum.no museum.om museum.tt musica.ar musica.bo
mutual.ar mw.gov.pl mx.na my.id myactivedirectory.com myddns.rocks mydissent.net myeffect.net
myftp.biz myftp.org mykolaiv.ua mymediapc.net mypets.ws myphotos.cc mypsx.net mysecuritycamera.com
mysecuritycamera.net mysecuritycamera.org myvnc.com mywire.org n.bg n.se na.it naamesjevuemie.no
nagano.jp nagasaki.jp naklo.pl namdalseid.no name.az name.eg name.et name.fj name.hr name.jo name.mk
name.mv name.my name.na name.ng name.pr name.qa name.tj name.tr name.tt name.vn namsos.no
namsskogan.no nannestad.no naples.it napoli.it nara.jp naroy.no narviika.no narvik.no nat.tn
natal.br natural.bo naturbruksgymn.se naustdal.no navigation.aero navuotna.no nb.ca nc.tr nc.us
nd.us ne.jp ne.ke ne.kr ne.pw ne.tz ne.ug ne.us neat-url.com nedre-eiker.no nesna.no nesodden.no
nesoddtangen.no nesseby.no nesset.no net-freaks.com net.ac net.ae net.af net.ag net.ai net.al net.am
net.ar net.au net.az net.ba net.bb net.bh net.bj net.bm net.bn net.bo net.br net.bs net.bt net.bz
net.ci net.cm net.cn net.co net.cu net.cw net.cy net.dm net.do net.dz net.ec net.eg net.et net.fj
net.fm net.ge net.gg net.gl net.gn net.gp net.gr net.gt net.gu net.gy net.hk net.hn net.ht net.id
net.il net.im net.in net.iq net.ir net.is net.je net.jo net.kg net.ki net.kn net.kw net.ky net.kz
net.la net.lb net.lc net.lk net.lr net.ls net.lv net.ly net.ma net.me net.mk net.ml net.mo net.ms
net.mt net.mu net.mv net.mw net.mx net.my net.mz net.nf net.ng net.ni net.nr net.nz net.om net.pa
net.pe net.ph net.pk net.pl net.pn net.pr net.ps net.pt net.py net.qa net.rw net.sa net.sb net.sc
net.sd net.sg net.sh net.sl net.so net.ss net.st net.sy net.th net.tj net.tm net.tn net.to net.tr
net.tt net.tw net.ua net.uk net.uy net.uz net.vc net.ve net.vi net.vn net.vu net.ws net.ye net.za
net.zm netlify.app news.hu nf.ca nflfan.org ngo.lk ngo.ph ngo.za ngrok.io nh.us nhlfan.net nhs.uk
nic.in nic.tj nic.za nieruchomosci.pl niigata.jp nikolaev.ua nis.za nissedal.no niteroi.br
nittedal.no nj.us nl.ca nl.no nm.cn nm.us no-ip.biz no-ip.ca no-ip.co.uk no-ip.info no-ip.net
no-ip.org no.it noip.me noip.us nom.ad nom.ag nom.co nom.es nom.fr nom.km nom.mg nom.nc nom.ni
nom.pa nom.pe nom.pl nom.re nom.ro nom.tm nom.ve nom.za nombre.bo nome.cv nome.pt nord-aurdal.no
nord-fron.no nord-odal.no norddal.no nordkapp.no nordre-land.no nordreisa.no nore-og-uvdal.no not.br
notaires.fr notaires.km noticias.bo notodden.no notteroy.no novara.it now.sh nowaruda.pl ns.ca
nsn.us nsw.au nsw.edu.au nt.au nt.ca nt.edu.au nt.no nt.ro ntr.br nu.ca nu.it nuoro.it nv.us nx.cn
ny.us nysa.pl o.bg o.se od.ua odda.no odesa.ua odessa.ua odo.br of.by of.no off.ai office-on-the.net
og.ao og.it ogliastra.it oh.us oirm.gov.pl oita.jp ok.us okayama.jp okinawa.jp oksnes.no ol.no
olawa.pl olbia-tempio.it olbiatempio.it olecko.pl olkusz.pl olsztyn.pl omasvuotna.no on-the-web.tv
on.ca ong.br onrender.com onthewifi.com ooguy.com opoczno.pl opole.pl oppdal.no oppegard.no or.at
or.bi or.ci or.cr or.id or.it or.jp or.ke or.kr or.mu or.na or.pw or.th or.tz or.ug or.us org.ac
org.ae org.af org.ag org.ai org.al org.am org.ar org.au org.az org.ba org.bb org.bh org.bi org.bj
org.bm org.bn org.bo org.br org.bs org.bt org.bw org.bz org.ci org.cn org.co org.cu org.cv org.cw
org.cy org.dm org.do org.dz org.ec org.ee org.eg org.es org.et org.fj org.fm org.ge org.gg org.gh
org.gi org.gl org.gn org.gp org.gr org.gt org.gu org.gy org.hk org.hn org.ht org.hu org.il org.im
org.in org.iq org.ir org.is org.je org.jo org.kg org.ki org.km org.kn org.kp org.kw org.ky org.kz
org.la org.lb org.lc org.lk org.lr org.ls org.lv org.ly org.ma org.me org.mg org.mk org.ml org.mn
org.mo org.ms org.mt org.mu org.mv org.mw org.mx org.my org.mz org.na org.ng org.ni org.nr org.nz
org.om org.pa org.pe org.pf org.ph org.pk org.pl org.pn org.pr org.ps org.pt org.py org.qa org.ro
org.rs org.rw org.sa org.sb org.sc org.sd org.se org.sg org.sh org.sl org.sn org.so org.ss org.st
org.sv org.sy org.sz org.tj org.tm org.tn org.to org.tr org.tt org.tw org.ua org.ug org.uk org.uy
org.uz org.vc org.ve org.vi org.vn org.vu org.ws org.ye org.za org.zm org.zw oristano.it orkanger.no
orkdal.no orland.no orskog.no orsta.no osaka.jp osasco.br osen.no oslo.no osoyro.no osteroy.no
ostre-toten.no ostroda.pl ostroleka.pl ostrowiec.pl ostrowwlkp.pl ot.it ote.bj other.nf oum.gov.pl
overhalla.no ovre-eiker.no oyer.no oygarden.no oystre-slidre.no oz.au p.bg p.se pa.gov.br pa.gov.pl
pa.it pa.us padova.it padua.it pages.dev palermo.it palmas.br parachuting.aero paragliding.aero
parliament.nz parma.it parti.se passenger-association.aero patria.bo pavia.it pb.ao pb.gov.br pc.it
pc.pl pd.it pe.ca pe.gov.br pe.it pe.kr per.la per.nf per.sg perso.ht perso.sn perso.tn perugia.it
pesaro-urbino.it pesarourbino.it pescara.it pg.in pg.it pgafan.net pharmacien.fr pharmaciens.km
pi.gov.br pi.it piacenza.it piedmont.it piemonte.it pila.pl pilot.aero pinb.gov.pl pisa.it
pistoia.it pisz.pl piw.gov.pl pl.ua plc.co.im plc.ly plc.uk plo.ps plurinacional.bo pmn.it pn.it
po.gov.pl po.it poa.br podhale.pl podlasie.pl podzone.net podzone.org point2this.com pointto.us
pol.dz pol.ht pol.tr police.uk politica.bo polkowice.pl poltava.ua pomorskie.pl pomorze.pl ponpes.id
pordenone.it porsanger.no porsangu.no porsgrunn.no port.fr post.in potenza.it powiat.pl pp.az pp.se
ppg.br pr.gov.br pr.it pr.us prato.it prd.fr prd.km prd.mg press.aero press.cy press.ma press.se
presse.ci presse.km presse.ml pri.ee principe.st priv.hu priv.me priv.no priv.pl
privatizehealthinsurance.net pro.az pro.br pro.cy pro.ec pro.fj pro.ht pro.in pro.mv pro.na pro.om
pro.pr pro.tt pro.vn prochowice.pl production.aero prof.pr profesional.bo pruszkow.pl przeworsk.pl
psc.br psi.br psp.gov.pl psse.gov.pl pt.it pu.it pub.sa publ.pt pueblo.bo pug.it puglia.it pulawy.pl
pup.gov.pl pv.it pvh.br pvt.ge pz.it q.bg qc.ca qh.cn qld.au qld.edu.au qld.gov.au qsl.br
quicksytes.com r.bg r.se ra.it rade.no radio.br radom.pl radoy.no ragusa.it rahkkeravju.no raholt.no
raisa.no rakkestad.no ralingen.no rana.no randaberg.no rar.ve rauma.no ravenna.it rawa-maz.pl rc.it
re.it re.kr read-books.org readmyblog.org realestate.pl rec.br rec.co rec.nf rec.ro rec.ve recht.pro
recife.br recreation.aero red.sv redirectme.net reggio-calabria.it reggio-emilia.it
reggiocalabria.it reggioemilia.it reklam.hu rel.ht rel.pl rendalen.no rennebu.no rennesoy.no rep.br
rep.kp repbody.aero repl.co res.aero res.in research.aero restaurant.bj resto.bj revista.bo rg.it
ri.it ri.us ribeirao.br rieti.it riik.ee rimini.it rindal.no ringebu.no ringerike.no ringsaker.no
rio.br riobranco.br riopreto.br risor.no rissa.no rivne.ua rj.gov.br rl.no rm.it rn.gov.br rn.it
ro.gov.br ro.it roan.no rodoy.no rollag.no roma.it rome.it romsa.no romskog.no roros.no rost.no
rotorcraft.aero rovigo.it rovno.ua royken.no royrvik.no rr.gov.br rs.gov.br ruovat.no rv.ua
rybnik.pl rygge.no rzeszow.pl rzgw.gov.pl s.bg s.se s3.amazonaws.com sa.au sa.cr sa.edu.au sa.gov.au
sa.gov.pl sa.it safety.aero saga.jp saitama.jp salangen.no salat.no salerno.it saltdal.no salud.bo
salvador.br samnanger.no sampa.br sandefjord.no sandnes.no sandnessjoen.no sandoy.no sanok.pl
santamaria.br santoandre.br saobernardo.br saogonca.br saotome.st sar.it sardegna.it sardinia.it
sarpsborg.no sassari.it sauda.no sauherad.no saves-the-whales.com savona.it sb.ua sc.cn sc.gov.br
sc.ke sc.kr sc.ls sc.tz sc.ug sc.us sch.ae sch.id sch.ir sch.jo sch.lk sch.ly sch.ng sch.qa sch.sa
sch.ss sch.zm school.na school.nz school.za schools.nsw.edu.au sci.eg scientist.aero
scrapper-site.net scrapping.cc sd.cn sd.us sdn.gov.pl se.gov.br sebastopol.ua sec.ps
securitytactics.com seg.br sejny.pl sel.no selbu.no selfip.biz selfip.com selfip.info selfip.net
selfip.org selje.no seljord.no sells-for-less.com sells-for-u.com sells-it.net sellsyourhome.org
senasa.ar seoul.kr servebbs.com servebbs.net servebbs.org servebeer.com serveblog.net
servecounterstrike.com serveexchange.com serveftp.com serveftp.net serveftp.org servegame.com
servegame.org servehalflife.com servehttp.com servehumour.com serveirc.com serveminecraft.net
servemp3.com servep2p.com servepics.com servequake.com servesarcasm.com services.aero sevastopol.ua
sex.hu sex.pl sf.no sh.cn shacknet.nu shiga.jp shimane.jp shizuoka.jp shop.ht shop.hu shop.pl
show.aero si.it sic.it sicilia.it sicily.it siellak.no siena.it sigdal.no siljan.no simple-url.com
siracusa.it sirdal.no sjc.br sk.ca skanit.no skanland.no skaun.no skedsmo.no skedsmokorset.no ski.no
skien.no skierva.no skiptvet.no skjak.no skjervoy.no sklep.pl sko.gov.pl skoczow.pl skodje.no
skydiving.aero slask.pl slattum.no sld.do sld.pa slg.br slupsk.pl slz.br sm.ua smola.no sn.cn
snaase.no snasa.no snillfjord.no snoasa.no so.gov.pl so.it soc.dz soc.lk software.aero sogndal.no
sogne.no sokndal.no sola.no solund.no somna.no sondre-land.no sondrio.it songdalen.no sor-aurdal.no
sor-fron.no sor-odal.no sor-varanger.no sorfold.no sorocaba.br sorreisa.no sortland.no sorum.no
sos.pl sosnowiec.pl sp.gov.br sp.it space-to-rent.com spjelkavik.no sport.hu spydeberg.no sr.gov.pl
sr.it srv.br ss.it st.no stalowa-wola.pl stange.no starachowice.pl stargard.pl starostwo.gov.pl
stat.no stathelle.no stavanger.no stavern.no steigen.no steinkjer.no sth.ac.at stjordal.no
stjordalshalsen.no stokke.no stor-elvdal.no stord.no stordal.no store.bb store.nf store.ro store.st
store.ve storfjord.no strand.no stranda.no stryn.no student.aero stuff-4-sale.org stuff-4-sale.us
stufftoread.com suedtirol.it sula.no suldal.no suli.hu sumy.ua sund.no sunndal.no surnadal.no
suwalki.pl sv.it svalbard.no sveio.no svelvik.no swidnica.pl swiebodzin.pl swinoujscie.pl sx.cn
sykkylven.no sytes.net szczecin.pl szczytno.pl szex.hu szkola.pl t.bg t.se ta.it taa.it tana.no
tananger.no taranto.it targi.pl tarnobrzeg.pl tas.au tas.edu.au tas.gov.au taxi.br tc.br te.it te.ua
teaches-yoga.com tec.br tec.ve tecnologia.bo tel.tr tempio-olbia.it tempioolbia.it teo.br teramo.it
terni.it ternopil.ua test.tj tgory.pl the.br theworkpc.com thruhere.net time.no tingvoll.no tinn.no
tj.cn tjeldsund.no tjome.no tksat.bo tm.cy tm.dz tm.fr tm.hu tm.km tm.mc tm.mg tm.no tm.pl tm.ro
tm.se tm.za tmp.br tn.it tn.us to.gov.br to.it tochigi.jp tokke.no tokushima.jp tokyo.jp tolga.no
tonsberg.no torino.it torsken.no tos.it toscana.it tottori.jp tourism.bj tourism.pl tourism.tn
toyama.jp tozsde.hu tp.it tr.it tr.no tra.kp trader.aero trading.aero traeumtgerade.de trainer.aero
trana.no tranby.no trani-andria-barletta.it trani-barletta-andria.it traniandriabarletta.it
tranibarlettaandria.it tranoy.no transporte.bo trapani.it travel.in travel.pl travel.tt trd.br
trentin-sud-tirol.it trentin-sudtirol.it trentin-sued-tirol.it trentin-suedtirol.it
trentino-a-adige.it trentino-aadige.it trentino-alto-adige.it trentino-altoadige.it
trentino-s-tirol.it trentino-stirol.it trentino-sud-tirol.it trentino-sudtirol.it
trentino-sued-tirol.it trentino-suedtirol.it trentino.it trentinoa-adige.it trentinoaadige.it
trentinoalto-adige.it trentinoaltoadige.it trentinos-tirol.it trentinostirol.it trentinosud-tirol.it
trentinosudtirol.it trentinosued-tirol.it trentinosuedtirol.it trentinsud-tirol.it
trentinsudtirol.it trentinsued-tirol.it trentinsuedtirol.it trento.it treviso.it trieste.it
troandin.no trogstad.no tromsa.no tromso.no trondheim.no trycloudflare.com trysil.no ts.it tsk.tr
tt.im tur.ar tur.br turek.pl turin.it turystyka.pl tuscany.it tv.bb tv.bo tv.br tv.im tv.in tv.it
tv.na tv.sd tv.tr tv.tz tvedestrand.no tw.cn tx.us tychy.pl tydal.no tynset.no tysfjord.no tysnes.no
tysvar.no u.bg u.se ud.it udi.br udine.it ufcfan.org ug.gov.pl ugim.gov.pl uk.in ullensaker.no
ullensvang.no ulsan.kr ulvik.no um.gov.pl umb.it umbria.it umig.gov.pl union.aero univ.bj univ.sn
unjarga.no unusualperson.com up.in upow.gov.pl uppo.gov.pl urbino-pesaro.it urbinopesaro.it uri.arpa
urn.arpa us.gov.pl us.in us.na ustka.pl ut.us utazas.hu utsira.no uw.gov.pl uz.ua uzhgorod.ua
uzs.gov.pl v.bg va.it va.no va.us vaapste.no vadso.no vaga.no vagan.no vagsoy.no vaksdal.no
val-d-aosta.it val-daosta.it vald-aosta.it valdaosta.it valle-aosta.it valle-d-aosta.it
valle-daosta.it valle.no valleaosta.it valled-aosta.it valledaosta.it vallee-aoste.it
vallee-d-aoste.it valleeaoste.it valleedaoste.it vang.no vanylven.no vao.it vardo.no varese.it
varggat.no varoy.no vb.it vc.it vda.it ve.it vefsn.no vega.no vegarshei.no ven.it veneto.it
venezia.it venice.it vennesla.no verbania.it vercel.app vercelli.it verdal.no verona.it verran.no
vestby.no vestnes.no vestre-slidre.no vestre-toten.no vestvagoy.no vet.br veterinaire.fr
veterinaire.km vevelstad.no vf.no vgs.no vi.it vi.us vibo-valentia.it vibovalentia.it vic.au
vic.edu.au vic.gov.au vicenza.it video.hu vik.no vikna.no vindafjord.no vinnica.ua vinnytsia.ua
viterbo.it vix.br vlog.br vn.ua voagat.no volda.no volyn.ua voss.no vossevangen.no vr.it vs.it vt.it
vt.us vv.it w.bg w.se wa.au wa.edu.au wa.gov.au wa.us wakayama.jp walbrzych.pl warmia.pl warszawa.pl
waw.pl web.app web.bo web.co web.do web.gu web.id web.lk web.nf web.ni web.pk web.tj web.tr web.ve
web.za webhop.biz webhop.info webhop.me webhop.net webhop.org webredirect.org wegrow.pl wi.us
wielun.pl wif.gov.pl wiih.gov.pl wiki.bo wiki.br winb.gov.pl wios.gov.pl witd.gov.pl wiw.gov.pl
wlocl.pl wloclawek.pl wodzislaw.pl wolomin.pl workers.dev workinggroup.aero workisboring.com
works.aero worse-than.tv writesthisblog.com wroclaw.pl ws.na wsa.gov.pl wskr.gov.pl wuoz.gov.pl
wv.us www.ro wy.us wzmiuw.gov.pl x.bg x.se xj.cn xz.cn y.bg y.se yalta.ua yamagata.jp yamaguchi.jp
yamanashi.jp yk.ca yn.cn z.bg z.se zachpomor.pl zagan.pl zaporizhzhe.ua zaporizhzhia.ua zapto.org
zarow.pl zgora.pl zgorzelec.pl zhitomir.ua zhytomyr.ua zj.cn zlg.br zp.gov.pl zp.ua zt.ua
]]
-- END SUFFIXES

-- BEGIN TLDS
local TLDS = [[
aaa aarp abarth abb abbott abbvie abc able abogado abudhabi ac academy accenture accountant
accountants aco actor ad ads adult ae aeg aero aetna af afl africa ag agakhan agency ai aig airbus
airforce airtel akdn al alfaromeo alibaba alipay allfinanz allstate ally alsace alstom am amazon
americanexpress americanfamily amex amfam amica amsterdam analytics android anquan anz ao aol
apartments app apple aq aquarelle ar arab aramco archi army arpa art arte as asda asia associates at
athleta attorney au auction audi audible audio auspost author auto autos avianca aw aws ax axa az
azure ba baby baidu banamex bananarepublic band bank bar barcelona barclaycard barclays barefoot
bargains baseball basketball bauhaus bayern bb bbc bbt bbva bcg bcn be beats beauty beer bentley
berlin best bestbuy bet bf bg bh bharti bi bible bid bike bing bingo bio biz bj black blackfriday
blockbuster blog bloomberg blue bm bms bmw bn bnpparibas bo boats boehringer bofa bom bond boo book
booking bosch bostik boston bot boutique box br bradesco bridgestone broadway broker brother
brussels bs bt build builders business buy buzz bv bw by bz bzh ca cab cafe cal call calvinklein cam
camera camp canon capetown capital capitalone car caravan cards care career careers cars casa case
cash casino cat catering catholic cba cbn cbre cbs cc cd center ceo cern cf cfa cfd cg ch chanel
channel charity chase chat cheap chintai christmas chrome church ci cipriani circle cisco citadel
citi citic city cityeats cl claims cleaning click clinic clinique clothing cloud club clubmed cm cn
co coach codes coffee college cologne com comcast commbank community company compare computer comsec
condos construction consulting contact contractors cooking cookingchannel cool coop corsica country
coupon coupons courses cpa cr credit creditcard creditunion cricket crown crs cruise cruises cu
cuisinella cv cw cx cy cymru cyou cz dabur dad dance data date dating datsun day dclk dds de deal
dealer deals degree delivery dell deloitte delta democrat dental dentist desi design dev dhl
diamonds diet digital direct directory discount discover dish diy dj dk dm dnp do docs doctor dog
domains dot download drive dtv dubai dunlop dupont durban dvag dvr dz earth eat ec eco edeka edu
education ee eg email emerck energy engineer engineering enterprises epson equipment ericsson erni
es esq estate et etisalat eu eurovision eus events exchange expert exposed express extraspace fage
fail fairwinds faith family fan fans farm farmers fashion fast fedex feedback ferrari ferrero fi
fiat fidelity fido film final finance financial fire firestone firmdale fish fishing fit fitness fj
flickr flights flir florist flowers fly fm fo foo food foodnetwork football ford forex forsale forum
foundation fox fr free fresenius frl frogans frontdoor frontier ftr fujitsu fun fund furniture
futbol fyi ga gal gallery gallo gallup game games gap garden gay gb gbiz gd gdn ge gea gent genting
george gf gg ggee gh gi gift gifts gives giving gl glass gle global globo gm gmail gmbh gmo gmx gn
godaddy gold goldpoint golf goo goodyear goog google gop got gov gp gq gr grainger graphics gratis
green gripe grocery group gs gt gu guardian gucci guge guide guitars guru gw gy hair hamburg hangout
haus hbo hdfc hdfcbank health healthcare help helsinki here hermes hgtv hiphop hisamitsu hitachi hiv
hk hkt hm hn hockey holdings holiday homedepot homegoods homes homesense honda horse hospital host
hosting hot hoteles hotels hotmail house how hr hsbc ht hu hughes hyatt hyundai ibm icbc ice icu id
ie ieee ifm ikano il im imamat imdb immo immobilien in inc industries infiniti info ing ink
institute insurance insure int international intuit investments io ipiranga iq ir irish is ismaili
ist istanbul it itau itv jaguar java jcb je jeep jetzt jewelry jio jll jmp jnj jo jobs joburg jot
joy jp jpmorgan jprs juegos juniper kaufen kddi ke kerryhotels kerrylogistics kerryproperties kfh kg
ki kia kids kim kinder kindle kitchen kiwi km kn koeln komatsu kosher kp kpmg kpn kr krd kred
kuokgroup kw ky kyoto kz la lacaixa lamborghini lamer lancaster lancia land landrover lanxess
lasalle lat latino latrobe law lawyer lb lc lds lease leclerc lefrak legal lego lexus lgbt li lidl
life lifeinsurance lifestyle lighting like lilly limited limo lincoln linde link lipsy live living
lk llc llp loan loans locker locus lol london lotte lotto love lpl lplfinancial lr ls lt ltd ltda lu
lundbeck luxe luxury lv ly ma macys madrid maif maison makeup man management mango map market
marketing markets marriott marshalls maserati mattel mba mc mckinsey md me med media meet melbourne
meme memorial men menu merckmsd mg mh miami microsoft mil mini mint mit mitsubishi mk ml mlb mls mma
mn mo mobi mobile moda moe moi mom monash money monster mormon mortgage moscow moto motorcycles mov
movie mp mq mr ms msd mt mtn mtr mu museum music mutual mv mw mx my mz na nab nagoya name natura
navy nba nc ne nec net netbank netflix network neustar new news next nextdirect nexus nf nfl ng ngo
nhk ni nico nike nikon ninja nissan nissay nl no nokia northwesternmutual norton now nowruz nowtv nr
nra nrw ntt nu nyc nz obi observer office okinawa olayan olayangroup oldnavy ollo om omega one ong
onion onl online ooo open oracle orange org organic origins osaka otsuka ott ovh pa page panasonic
paris pars partners parts party passagens pay pccw pe pet pf pfizer ph pharmacy phd philips phone
photo photography photos physio pics pictet pictures pid pin ping pink pioneer pizza pk pl place
play playstation plumbing plus pm pn pnc pohl poker politie porn post pr pramerica praxi press prime
pro prod productions prof progressive promo properties property protection pru prudential ps pt pub
pw pwc py qa qpon quebec quest racing radio re read realestate realtor realty recipes red redstone
redumbrella rehab reise reisen reit reliance ren rent rentals repair report republican rest
restaurant review reviews rexroth rich richardli ricoh ril rio rip ro rocher rocks rodeo rogers room
rs rsvp ru rugby ruhr run rw rwe ryukyu sa saarland safe safety sakura sale salon samsclub samsung
sandvik sandvikcoromant sanofi sap sarl sas save saxo sb sbi sbs sc sca scb schaeffler schmidt
scholarships school schule schwarz science scot sd se search seat secure security seek select sener
services seven sew sex sexy sfr sg sh shangrila sharp shaw shell shia shiksha shoes shop shopping
shouji show showtime si silk sina singles site sj sk ski skin sky skype sl sling sm smart smile sn
sncf so soccer social softbank software sohu solar solutions song sony soy spa space sport spot sr
srl ss st stada staples star statebank statefarm stc stcgroup stockholm storage store stream studio
study style su sucks supplies supply support surf surgery suzuki sv swatch swiss sx sy sydney
systems sz tab taipei talk taobao target tatamotors tatar tattoo tax taxi tc tci td tdk team tech
technology tel temasek tennis teva tf tg th thd theater theatre tiaa tickets tienda tiffany tips
tires tirol tj tjmaxx tjx tk tkmaxx tl tm tmall tn to today tokyo tools top toray toshiba total
tours town toyota toys tr trade trading training travel travelchannel travelers travelersinsurance
trust trv tt tube tui tunes tushu tv tvs tw tz ua ubank ubs ug uk unicom university uno uol ups us
uy uz va vacations vana vanguard vc ve vegas ventures verisign versicherung vet vg vi viajes video
vig viking villas vin vip virgin visa vision viva vivo vlaanderen vn vodka volkswagen volvo vote
voting voto voyage vu vuelos wales walmart walter wang wanggou watch watches weather weatherchannel
webcam weber website wedding weibo weir wf whoswho wien wiki williamhill win windows wine winners
wme wolterskluwer woodside work works world wow ws wtc wtf xbox xerox xfinity xihuan xin xn--11b4c3d
xn--1ck2e1b xn--1qqw23a xn--2scrj9c xn--30rr7y xn--3bst00m xn--3ds443g xn--3e0b707e xn--3hcrj9c
xn--3pxu8k xn--42c2d9a xn--45br5cyl xn--45brj9c xn--45q11c xn--4dbrk0ce xn--4gbrim xn--54b7fta0cc
xn--55qw42g xn--55qx5d xn--5su34j936bgsg xn--5tzm5g xn--6frz82g xn--6qq986b3xl xn--80adxhks
xn--80ao21a xn--80aqecdr1a xn--80asehdb xn--80aswg xn--8y0a063a xn--90a3ac xn--90ae xn--90ais
xn--9dbq2a xn--9et52u xn--9krt00a xn--b4w605ferd xn--bck1b9a5dre4c xn--c1avg xn--c2br7g xn--cck2b3b
xn--cckwcxetd xn--cg4bki xn--clchc0ea0b2g2a9gcd xn--czr694b xn--czrs0t xn--czru2d xn--d1acj3b
xn--d1alf xn--e1a4c xn--eckvdtc9d xn--efvy88h xn--fct429k xn--fhbei xn--fiq228c5hs xn--fiq64b
xn--fiqs8s xn--fiqz9s xn--fjq720a xn--flw351e xn--fpcrj9c3d xn--fzc2c9e2c xn--fzys8d69uvgm
xn--g2xx48c xn--gckr3f0f xn--gecrj9c xn--gk3at1e xn--h2breg3eve xn--h2brj9c xn--h2brj9c8c
xn--hxt814e xn--i1b6b1a6a2e xn--imr513n xn--io0a7i xn--j1aef xn--j1amh xn--j6w193g xn--jlq480n2rg
xn--jvr189m xn--kcrx77d1x4a xn--kprw13d xn--kpry57d xn--kput3i xn--l1acc xn--lgbbat1ad8j
xn--mgb2ddes xn--mgb9awbf xn--mgba3a3ejt xn--mgba3a4f16a xn--mgba3a4fra xn--mgba7c0bbn0a
xn--mgbaakc7dvf xn--mgbaam7a8h xn--mgbab2bd xn--mgbah1a3hjkrd xn--mgbai9a5eva00b xn--mgbai9azgqp6j
xn--mgbayh7gpa xn--mgbbh1a xn--mgbbh1a71e xn--mgbc0a9azcg xn--mgbca7dzdo xn--mgbcpq6gpa1a
xn--mgberp4a5d4a87g xn--mgberp4a5d4ar xn--mgbgu82a xn--mgbi4ecexp xn--mgbpl2fh xn--mgbqly7c0a67fbc
xn--mgbqly7cvafr xn--mgbt3dhd xn--mgbtf8fl xn--mgbtx2b xn--mgbx4cd0ab xn--mix082f xn--mix891f
xn--mk1bu44c xn--mxtq1m xn--ngbc5azd xn--ngbe9e0a xn--ngbrx xn--nnx388a xn--node xn--nqv7f
xn--nqv7fs00ema xn--nyqy26a xn--o3cw4h xn--ogbpf8fl xn--otu796d xn--p1acf xn--p1ai xn--pgbs0dh
xn--pssy2u xn--q7ce6a xn--q9jyb4c xn--qcka1pmc xn--qxa6a xn--qxam xn--rhqv96g xn--rovu88b
xn--rvc1e0am3e xn--s9brj9c xn--ses554g xn--t60b56a xn--tckwe xn--tiq49xqyj xn--unup4y
xn--vermgensberater-ctb xn--vermgensberatung-pwb xn--vhquv xn--vuq861b xn--w4r85el8fhu5dnra
xn--w4rs40l xn--wgbh1c xn--wgbl6a xn--xhq521b xn--xkc2al3hye2a xn--xkc2dl3a5ee0h xn--y9a3aq
xn--yfro4i67o xn--ygbi2ammx xn--zfr164b xxx xyz yachts yahoo yamaxun yandex ye yodobashi yoga
yokohama you youtube yt yun zappos zara zero zip zm zone zuerich zw
]]
-- END TLDS

local TLD = {}
for tld in gmatch(TLDS, "%S+") do TLD[tld] = true end

local RULES, WILD, EXCEPT, PARENT = {}, {}, {}, {}
-- PARENT: every proper suffix of a rule ("co.uk" -> "uk"): only below one of those can
-- a longer rule still match, so the walk from the right stops at the first miss
local function parents(rule)
  local at = find(rule, ".", 1, true)
  while at do
    PARENT[sub(rule, at + 1)] = true
    at = find(rule, ".", at + 1, true)
  end
end
for rule in gmatch(SUFFIXES, "%S+") do
  if sub(rule, 1, 1) == "!" then
    EXCEPT[sub(rule, 2)] = true
    parents(sub(rule, 2))
  elseif sub(rule, 1, 2) == "*." then
    WILD[sub(rule, 3)] = true
    PARENT[sub(rule, 3)] = true
    parents(sub(rule, 3))
  else
    RULES[rule] = true
    parents(rule)
  end
end
domain.count = 0
for _ in pairs(RULES) do domain.count = domain.count + 1 end
for _ in pairs(WILD) do domain.count = domain.count + 1 end
for _ in pairs(EXCEPT) do domain.count = domain.count + 1 end

-- starts[i]: where label i begins (reused between calls: no garbage per name)
local starts = {}

--- The name in lower case without a trailing dot; nil for an empty or non-string name.
function domain.normalize(name)
  if type(name) ~= "string" or name == "" then return nil end
  name = lower(name)
  if byte(name, -1) == 46 then name = sub(name, 1, -2) end -- "."
  if name == "" then return nil end
  return name
end

--- registrable, label, suffix, subdomain of a name (normalized first):
--- "a.b.example.co.uk" -> "example.co.uk", "example", "co.uk", "a.b" (subdomain "" when
--- there is none). A name that is itself a public suffix (or a single label) gives
--- nil, nil, suffix, nil. Answers are memoised per script (up to 4,096 names, then
--- the memo starts afresh), so a name seen again costs a few table lookups.
local function compute(name)
  name = domain.normalize(name)
  if name == nil then return nil, nil, nil, nil end
  -- the common case in one pattern match: the last two labels are no rule and no
  -- rule's parent, so the last label is the suffix
  local rest, tld = match(name, "^(.*)%.([^.]+)$")
  if rest ~= nil and not WILD[tld] then
    local head, label = match(rest, "^(.*)%.([^.]*)$")
    if head == nil then head, label = "", rest end
    if label ~= "" then
      local registrable = label .. "." .. tld
      if not (PARENT[registrable] or RULES[registrable] or EXCEPT[registrable]) then
        return registrable, label, tld, head
      end
    end
  end
  local n = 1
  starts[1] = 1
  local at = find(name, ".", 1, true)
  while at do
    n = n + 1
    starts[n] = at + 1
    at = find(name, ".", at + 1, true)
  end
  -- walk from the last label leftwards; the longest matching rule wins, an
  -- exception rule's suffix is its parent
  local j = n  -- label where the public suffix begins: the default rule "*"
  local parent = sub(name, starts[n])
  for i = n - 1, 1, -1 do
    if not (PARENT[parent] or WILD[parent]) then break end
    local candidate = sub(name, starts[i])
    if EXCEPT[candidate] then j = i + 1; break end
    if RULES[candidate] or WILD[parent] then j = i end
    parent = candidate
  end
  local suffix = sub(name, starts[j])
  if j == 1 then return nil, nil, suffix, nil end
  local b = starts[j - 1]
  local registrable = sub(name, b)
  local label = sub(name, b, starts[j] - 2)
  local subdomain = ""
  if b > 1 then subdomain = sub(name, 1, b - 2) end
  return registrable, label, suffix, subdomain
end

-- the memo: four flat tables by name (no table per name: a large live heap of small
-- tables makes every garbage collection cycle of the worker slower)
local m_reg, m_label, m_suffix, m_sub, memo_n = {}, {}, {}, {}, 0
local MEMO_MAX = 4096

function domain.split(name)
  local suffix = m_suffix[name]
  if suffix ~= nil then return m_reg[name], m_label[name], suffix, m_sub[name] end
  local registrable, label, subdomain
  registrable, label, suffix, subdomain = compute(name)
  if suffix ~= nil then
    if memo_n >= MEMO_MAX then m_reg, m_label, m_suffix, m_sub, memo_n = {}, {}, {}, {}, 0 end
    memo_n = memo_n + 1
    m_reg[name], m_label[name], m_suffix[name], m_sub[name] = registrable, label, suffix, subdomain
  end
  return registrable, label, suffix, subdomain
end

--- The registrable domain (eTLD+1) and the public suffix; nil, suffix for a suffix.
function domain.registrable(name)
  local registrable, _, suffix = domain.split(name)
  return registrable, suffix
end

--- The public suffix of a name.
function domain.suffix(name)
  local _, _, suffix = domain.split(name)
  return suffix
end

--- Whether a label is a top-level domain of the root zone (ICANN's, as the list had
--- them; "local", "lan", "corp" and the like are not).
function domain.is_tld(label)
  return TLD[label] == true
end

--- The labels of a name as an array, left to right (normalized first; {} for none).
function domain.labels(name)
  local out = {}
  name = domain.normalize(name)
  if name == nil then return out end
  for label in gmatch(name, "[^.]+") do out[#out + 1] = label end
  return out
end

return domain
