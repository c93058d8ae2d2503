# Draws results/chart.png from the chart_*.dat files report.py writes: one panel per row (the
# seventh: Keel against the Linux guest in the same emulator, B7 beside B8), Keel in blue,
# baselines in orange, the physical floor in grey.
# usage: gnuplot -e "dir='bench/results'" bench/chart.gp
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 2000,900 font ",10" noenhanced
set output dir."/chart.png"
set style fill solid 0.85 border -1
set boxwidth 0.7
set grid ytics
set xtics rotate by -30 nomirror
set key off
set offsets 0.3, 0.3, graph 0.12, 0  # room above the tallest bar for its label
set linetype 1 lc rgb "#1f77b4"
set linetype 2 lc rgb "#ff7f0e"
set linetype 3 lc rgb "#7f7f7f"
set multiplot layout 2,4 title "Keel IPC vs baselines (medians; see bench/README.md)"

do for [i=1:7] {
    f = dir."/chart_b".i.".dat"
    titles = "B1 cache-line floor|B2 ring throughput|B3 queue round trip|B4 per op, in-process|B5 instructions per op|B6 two-process round trip|B7/B8 Keel vs the Linux guest"
    ylabels = "ns|M entries/s (higher is better)|ns|ns per op (log)|instructions|ns (log)|guest instructions per op (log)"
    t = system("echo '".titles."' | cut -d'|' -f".i)
    y = system("echo '".ylabels."' | cut -d'|' -f".i)
    set title t
    set ylabel y
    if (i == 4 || i == 6 || i == 7) { set logscale y; set yrange [*:*] } else { unset logscale y; set yrange [0:*] }
    if (system("test -s ".f." && echo 1 || echo 0") == 1) {
        plot f using 0:2:3:xtic(1) with boxes lc variable, \
             f using 0:2:(sprintf("%.3g", $2)) with labels offset 0,0.7 font ",8"
    } else {
        set label 1 "not run" at graph 0.5, graph 0.5 center
        plot 2 with lines lc rgb "white"
        unset label 1
    }
}
unset multiplot
