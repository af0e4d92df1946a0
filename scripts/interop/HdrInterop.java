// HdrInterop reads histograms that wfbench wrote, with HdrHistogram's reference (Java)
// implementation: an independent check of wfbench's result.json encoding and .hgrm files.
//
//   java -cp hdrhistogram.jar HdrInterop.java ENCODED_FILE HGRM_OUT
//
// ENCODED_FILE holds one base64 histogram as result.json stores it. It prints the
// count, p50, p99 and max (µs) as Java decodes them, and writes Java's own
// percentile distribution (5 ticks per half distance, values in ms) to HGRM_OUT, to be
// compared with wfbench's .hgrm file.
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Base64;
import org.HdrHistogram.Histogram;

public class HdrInterop {
    public static void main(String[] args) throws Exception {
        String enc = new String(Files.readAllBytes(Paths.get(args[0]))).trim();
        Histogram h = Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(Base64.getDecoder().decode(enc)), 0);
        System.out.printf("count=%d p50=%d p99=%d max=%d%n", h.getTotalCount(),
            h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getMaxValue());
        try (PrintStream out = new PrintStream(new FileOutputStream(args[1]))) {
            h.outputPercentileDistribution(out, 5, 1000.0);
        }
    }
}
