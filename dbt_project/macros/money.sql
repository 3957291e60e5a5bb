{# Money rounds half-up to cents. Through DECIMAL(38,10) first so that a binary float such as
   1234.5649999999 that means 1234.565 rounds up, as a decimal calculation would. #}
{% macro round_money(expr) -%}
    cast(round(cast({{ expr }} as decimal(38, 10)), 2) as decimal(18, 2))
{%- endmacro %}

{# Level payment (P&I) of principal p at annual percent rate over n months. #}
{% macro level_payment(p, annual_rate_pct, n) -%}
    case
        when {{ annual_rate_pct }} = 0 then {{ p }} / {{ n }}
        else {{ p }} * ({{ annual_rate_pct }} / 1200.0)
             / (1 - power(1 + {{ annual_rate_pct }} / 1200.0, -{{ n }}))
    end
{%- endmacro %}

{# The scheduled balance after k level payments of `payment` on principal p at a monthly rate,
   never below 0. #}
{% macro scheduled_balance(p, payment, monthly_rate, k) -%}
    greatest(0, case when {{ monthly_rate }} = 0
        then {{ p }} - {{ payment }} * {{ k }}
        else {{ p }} * power(1 + {{ monthly_rate }}, {{ k }})
            - {{ payment }} * (power(1 + {{ monthly_rate }}, {{ k }}) - 1) / {{ monthly_rate }}
    end)
{%- endmacro %}

{# Completed months from d1 to d2: (y2-y1)*12 + (m2-m1) - (1 if day2 < day1). #}
{% macro completed_months(d1, d2) -%}
    ((year({{ d2 }}) - year({{ d1 }})) * 12 + (month({{ d2 }}) - month({{ d1 }}))
     - case when day({{ d2 }}) < day({{ d1 }}) then 1 else 0 end)
{%- endmacro %}
