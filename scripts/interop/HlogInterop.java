// HlogInterop reads an interval log (.hlog) that wfbench wrote, with HdrHistogram's
// reference (Java) HistogramLogReader: an independent check of wfbench's interval logs.
//
//   java -cp hdrhistogram.jar HlogInterop.java HLOG_FILE
//
// It prints the number of intervals, the total count over them, the log's start time
// (seconds since the epoch) and each interval's start (seconds from it) and count.
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.AbstractHistogram;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.HistogramLogReader;

public class HlogInterop {
    public static void main(String[] args) throws Exception {
        HistogramLogReader reader = new HistogramLogReader(args[0]);
        List<String> starts = new ArrayList<>();
        List<String> counts = new ArrayList<>();
        long total = 0;
        long max = 0;
        EncodableHistogram e;
        while ((e = reader.nextIntervalHistogram()) != null) {
            AbstractHistogram h = (AbstractHistogram) e;
            total += h.getTotalCount();
            max = Math.max(max, h.getMaxValue());
            starts.add(String.format("%.3f", h.getStartTimeStamp() / 1000.0 - reader.getStartTimeSec()));
            counts.add(Long.toString(h.getTotalCount()));
        }
        System.out.printf("intervals=%d count=%d max=%d start=%.3f starts=%s counts=%s%n", counts.size(), total, max,
            reader.getStartTimeSec(), String.join(",", starts), String.join(",", counts));
    }
}
