# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The prices the cost estimate needs: how to ask the AWS Price List API for each, and a dated table.

Each price is one Price List query (service code, attribute filters, and the usage type it must
contain - usage types carry a region prefix outside us-east-1, e.g. ``USE2-NatGateway-Hours``)
and a unit; the estimate multiplies it by a monthly quantity. When the API does not answer
(offline, no ``pricing:GetProducts`` permission, or an endpoint without the Price List API), the
table below is used instead, and the estimate says so.

The table holds us-east-1 on-demand list prices in USD as AWS published them on its pricing pages
(Aurora, VPC, Lambda, CloudFront, S3, CloudWatch, Secrets Manager, KMS, DynamoDB, SQS) at
``TABLE_DATE``; prices without a volume tier are the first tier's. Other regions differ by a few
percent to ~30 %: the estimate names the table's region when it falls back to it.
"""

from __future__ import annotations

TABLE_DATE = "2025-11-01"
TABLE_REGION = "us-east-1"

# key: (service code, {attribute: value}, usage type contains, unit, USD per unit in the table)
# Units are the Price List's: per hour, per GB-month, per GB, per request/IO/second (single units,
# so 0.20 USD per million requests is 0.0000002 per request).
PRICES = {
    "aurora_acu_hour": ("AmazonRDS", {"databaseEngine": "Aurora PostgreSQL"}, "Aurora:ServerlessV2Usage", "ACU-Hr", 0.12),
    "aurora_storage_gb_month": ("AmazonRDS", {}, "Aurora:StorageUsage", "GB-Mo", 0.10),
    "aurora_io_request": ("AmazonRDS", {}, "Aurora:StorageIOUsage", "IOs", 0.0000002),
    "aurora_backup_gb_month": ("AmazonRDS", {}, "Aurora:BackupUsage", "GB-Mo", 0.021),
    "nat_gateway_hour": ("AmazonEC2", {"productFamily": "NAT Gateway"}, "NatGateway-Hours", "Hrs", 0.045),
    "nat_gateway_gb": ("AmazonEC2", {"productFamily": "NAT Gateway"}, "NatGateway-Bytes", "GB", 0.045),
    "public_ipv4_hour": ("AmazonVPC", {}, "PublicIPv4:InUseAddress", "Hrs", 0.005),
    "lambda_gb_second_x86": ("AWSLambda", {"group": "AWS-Lambda-Duration"}, "Lambda-GB-Second", "Lambda-GB-Second", 0.0000166667),
    "lambda_gb_second_arm": ("AWSLambda", {"group": "AWS-Lambda-Duration-ARM"}, "Lambda-GB-Second-ARM", "Lambda-GB-Second", 0.0000133334),
    "lambda_request": ("AWSLambda", {"group": "AWS-Lambda-Requests"}, "Request", "Requests", 0.0000002),
    "lambda_edge_gb_second": ("AWSLambda", {}, "Lambda-Edge-GB-Second", "Lambda-GB-Second", 0.00005001),
    "lambda_edge_request": ("AWSLambda", {}, "Lambda-Edge-Request", "Request", 0.0000006),
    "cloudfront_gb_out": ("AmazonCloudFront", {"fromLocation": "United States"}, "US-DataTransfer-Out-Bytes", "GB", 0.085),
    "cloudfront_https_request": ("AmazonCloudFront", {"fromLocation": "United States"}, "US-Requests-Tier2-HTTPS", "Requests", 0.000001),
    "cloudfront_function_invocation": ("AmazonCloudFront", {}, "Executions-CloudFrontFunctions", "Invocations", 0.0000001),
    "s3_storage_gb_month": ("AmazonS3", {"storageClass": "General Purpose"}, "TimedStorage-ByteHrs", "GB-Mo", 0.023),
    "s3_put_request": ("AmazonS3", {}, "Requests-Tier1", "Requests", 0.000005),
    "s3_get_request": ("AmazonS3", {}, "Requests-Tier2", "Requests", 0.0000004),
    "cloudwatch_alarm_month": ("AmazonCloudWatch", {}, "CW:AlarmMonitorUsage", "Alarms", 0.10),
    "cloudwatch_dashboard_month": ("AmazonCloudWatch", {}, "DashboardsUsageHour", "Dashboards", 3.00),
    "cloudwatch_logs_ingest_gb": ("AmazonCloudWatch", {}, "DataProcessing-Bytes", "GB", 0.50),
    "cloudwatch_logs_storage_gb_month": ("AmazonCloudWatch", {}, "TimedStorage-ByteHrs", "GB-Mo", 0.03),
    "cloudwatch_vended_logs_gb": ("AmazonCloudWatch", {}, "VendedLog-Bytes", "GB", 0.50),
    "secret_month": ("AWSSecretsManager", {}, "AWSSecretsManager-Secrets", "Secrets", 0.40),
    "secret_api_request": ("AWSSecretsManager", {}, "AWSSecretsManager-APIRequest", "API Requests", 0.000005),
    "kms_key_month": ("awskms", {}, "KMS-Keys", "Keys", 1.00),
    "kms_request": ("awskms", {}, "KMS-Requests", "Requests", 0.000003),
    "dynamodb_write_request": ("AmazonDynamoDB", {}, "WriteRequestUnits", "WriteRequestUnits", 0.000000625),
    "dynamodb_read_request": ("AmazonDynamoDB", {}, "ReadRequestUnits", "ReadRequestUnits", 0.000000125),
    "sqs_fifo_request": ("AWSQueueService", {}, "Requests-FIFO-Tier1", "Requests", 0.0000005),
    "waf_web_acl_month": ("awswaf", {}, "WebACL", "WebACL", 5.00),
    "waf_rule_month": ("awswaf", {}, "Rule", "Rule", 1.00),
    "waf_request": ("awswaf", {}, "Request", "Request", 0.0000006),
}

# Usage type prefixes of the Price List for the regions the collection knows (us-east-1 has none
# for most services). Used to prefer the environment's own region among matching products.
USAGE_PREFIX = {
    "us-east-1": "", "us-east-2": "USE2-", "us-west-1": "USW1-", "us-west-2": "USW2-", "ca-central-1": "CAN1-",
    "eu-west-1": "EU-", "eu-west-2": "EUW2-", "eu-west-3": "EUW3-", "eu-central-1": "EUC1-", "eu-north-1": "EUN1-",
    "ap-south-1": "APS3-", "ap-southeast-1": "APS1-", "ap-southeast-2": "APS2-", "ap-northeast-1": "APN1-",
    "ap-northeast-2": "APN2-", "sa-east-1": "SAE1-",
}


def table_prices():
    """{key: USD per unit} from the dated table."""
    return {key: spec[4] for key, spec in PRICES.items()}
